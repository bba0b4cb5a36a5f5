import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { modelServerConfigFromMessage, type ModelServerConfig } from '../../config/model_server_config';
import type { Manager } from '../../core/manager';
import { StatusCode } from '../../errors/status_code';
import { invalidArgument, unimplemented } from '../../errors/serving_error';
import { Protos } from '../../protos';
import { ModelSpecMessage, servableRequestOf } from '../model_spec';
import { versionStatesFor } from '../model_status';
import { rawUnaryMethod } from './raw_method';
import { decodeRequest, unaryHandler } from './unary_handler';

const SERVICE = 'tensorflow.serving.ModelService';

export const modelServiceDefinition = {
  GetModelStatus: rawUnaryMethod(SERVICE, 'GetModelStatus'),
  HandleReloadConfigRequest: rawUnaryMethod(SERVICE, 'HandleReloadConfigRequest'),
};

const STATE_NUMBER = { START: 10, LOADING: 20, AVAILABLE: 30, UNLOADING: 40, END: 50 } as const;

/** Replaces the served model config (ServerCore.reloadConfig); absent: HandleReloadConfigRequest is UNIMPLEMENTED. */
export type ReloadConfig = (config: ModelServerConfig) => Promise<void>;

export function modelService(manager: Manager, reloadConfig?: ReloadConfig): UntypedServiceImplementation {
  return {
    GetModelStatus: unaryHandler(async (bytes) => {
      const request = decodeRequest<{ model_spec?: ModelSpecMessage }>(Protos.GetModelStatusRequest, bytes);
      const states = versionStatesFor(manager, servableRequestOf(request.model_spec));
      return Protos.GetModelStatusResponse.encode({
        model_version_status: states.map((snapshot) => ({
          version: snapshot.id.version,
          state: STATE_NUMBER[snapshot.state],
          status: snapshot.error
            ? { error_code: StatusCode[snapshot.error.code], error_message: snapshot.error.message }
            : { error_code: 0, error_message: '' },
        })),
      }).finish();
    }),

    // As TF-Serving: a refused or failed reload is the RPC's status (the response's StatusProto
    // then never reaches the client); success answers OK in both.
    HandleReloadConfigRequest: unaryHandler(async (bytes) => {
      const request = decodeRequest<{ config?: protobuf.Message; metric_names?: string[] }>(
        Protos.ReloadConfigRequest,
        bytes,
      );
      if (!reloadConfig) throw unimplemented('HandleReloadConfigRequest is not supported');
      if (!request.config || configCase(request.config) !== 'model_config_list') {
        throw invalidArgument(
          'ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is currently supported',
        );
      }
      await reloadConfig(modelServerConfigFromMessage(request.config));
      return Protos.ReloadConfigResponse.encode({
        status: { error_code: 0, error_message: '' },
        // duoserve keeps none of TensorFlow's monitoring metrics: each one asked for rose by 0.
        metric: (request.metric_names ?? []).map((name) => ({ name, int64_value_increase: 0 })),
      }).finish();
    }),
  };
}

/** Which member of ModelServerConfig's `config` oneof is set, if any. */
function configCase(config: protobuf.Message): string | undefined {
  return Protos.ModelServerConfig.toObject(config, { oneofs: true }).config;
}
