import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Manager } from '../../core/manager';
import { StatusCode } from '../../errors/status_code';
import { unimplemented } from '../../errors/serving_error';
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

/** Replaces the served model config; absent until the server supports reloading. */
export type ReloadConfig = (config: unknown) => Promise<void>;

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

    HandleReloadConfigRequest: unaryHandler(async (bytes) => {
      const request = decodeRequest<{ config?: unknown }>(Protos.ReloadConfigRequest, bytes);
      if (!reloadConfig) throw unimplemented('HandleReloadConfigRequest is not supported yet');
      await reloadConfig(request.config);
      return Protos.ReloadConfigResponse.encode({ status: { error_code: 0, error_message: '' } }).finish();
    }),
  };
}
