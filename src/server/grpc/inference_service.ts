/**
 * inference.GRPCInferenceService, the Open Inference Protocol's (KServe v2) gRPC API, on the
 * same server as tensorflow.serving.PredictionService (same listeners, TLS, drain and metrics).
 * Each RPC only decodes its message and encodes the answer; OpenInference does the rest, for
 * REST's /v2 routes too. The repository extension's RPCs are declared and answer UNIMPLEMENTED
 * (models come and go with the model config, as in TF-Serving); so do the official RPCs the
 * proto leaves out (ModelConfig, ModelStatistics, shared memory, trace, logging).
 */
import type { handleBidiStreamingCall, ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { toServingError, unimplemented } from '../../errors/serving_error';
import type { StatusCodeName } from '../../errors/status_code';
import { boundedStatusMessage } from '../../errors/status_message';
import { recordRequest } from '../../monitoring/request_metrics';
import { Protos } from '../../protos';
import { cancelRuns, newCancelFlag } from '../../servables/run_deadline';
import type { InferCall, OpenInference } from '../open_inference/open_inference';
import { encodeInferResponse, encodeStreamInferResponse } from './infer_response';
import { inferRequestOf, type ModelInferRequestMessage } from './model_infer_request';
import { rawBidiStreamingMethod, rawUnaryMethod } from './raw_method';
import { toGrpcError } from './grpc_errors';
import { deadlineOf, decodeRequest, unaryHandler } from './unary_handler';

const SERVICE = 'inference.GRPCInferenceService';

export const inferenceServiceDefinition = {
  ServerLive: rawUnaryMethod(SERVICE, 'ServerLive'),
  ServerReady: rawUnaryMethod(SERVICE, 'ServerReady'),
  ModelReady: rawUnaryMethod(SERVICE, 'ModelReady'),
  ServerMetadata: rawUnaryMethod(SERVICE, 'ServerMetadata'),
  ModelMetadata: rawUnaryMethod(SERVICE, 'ModelMetadata'),
  ModelInfer: rawUnaryMethod(SERVICE, 'ModelInfer'),
  ModelStreamInfer: rawBidiStreamingMethod(SERVICE, 'ModelStreamInfer'),
  RepositoryIndex: rawUnaryMethod(SERVICE, 'RepositoryIndex'),
  RepositoryModelLoad: rawUnaryMethod(SERVICE, 'RepositoryModelLoad'),
  RepositoryModelUnload: rawUnaryMethod(SERVICE, 'RepositoryModelUnload'),
};

/** ServerMetadataResponse.extensions: none of the protocol's optional extensions is served over gRPC. */
const GRPC_EXTENSIONS: readonly string[] = [];

/** The request metrics' API labels (as TF-Serving labels Predict, Classify...). */
const INFER_API = 'ModelInfer';
const STREAM_INFER_API = 'ModelStreamInfer';

interface ModelRequestMessage {
  name: string;
  version: string;
}

const REPOSITORY_UNIMPLEMENTED =
  "the model repository extension is not served: models are loaded and unloaded by the model config (--model_config_file, ModelService's HandleReloadConfigRequest)";

export function inferenceService(openInference: OpenInference): UntypedServiceImplementation {
  const repositoryUnimplemented = unaryHandler(async () => {
    throw unimplemented(REPOSITORY_UNIMPLEMENTED);
  });
  return {
    ServerLive: unaryHandler(async () =>
      Protos.ServerLiveResponse.encode({ live: openInference.serverLive() }).finish(),
    ),
    ServerReady: unaryHandler(async () =>
      Protos.ServerReadyResponse.encode({ ready: openInference.serverReady() }).finish(),
    ),
    ModelReady: unaryHandler(async (bytes) => {
      const { name, version } = decodeRequest<ModelRequestMessage>(Protos.ModelReadyRequest, bytes);
      return Protos.ModelReadyResponse.encode({ ready: openInference.modelReady(name, version) }).finish();
    }),
    ServerMetadata: unaryHandler(async () =>
      Protos.ServerMetadataResponse.encode(openInference.serverMetadata([...GRPC_EXTENSIONS])).finish(),
    ),
    ModelMetadata: unaryHandler(async (bytes) => {
      const { name, version } = decodeRequest<ModelRequestMessage>(Protos.ModelMetadataRequest, bytes);
      return Protos.ModelMetadataResponse.encode(await openInference.modelMetadata(name, version)).finish();
    }),
    ModelInfer: unaryHandler(async (bytes, call) => {
      const message = decodeRequest<ModelInferRequestMessage>(Protos.ModelInferRequest, bytes);
      call.modelName = message.model_name;
      const response = await openInference.infer(inferRequestOf(message), {
        deadlineUs: call.deadlineUs,
        cancelled: call.cancelled,
        outputEncoding: 'raw',
      });
      return encodeInferResponse(response);
    }, INFER_API),
    ModelStreamInfer: streamInfer(openInference),
    RepositoryIndex: repositoryUnimplemented,
    RepositoryModelLoad: repositoryUnimplemented,
    RepositoryModelUnload: repositoryUnimplemented,
  };
}

/**
 * ModelStreamInfer, as Triton serves a model that is not decoupled: one response for each
 * request, in the order the requests came. The requests run as they arrive (a slow one does not
 * hold back the start of the next); a failed one is answered with its error_message and the
 * stream goes on. The call's deadline and cancellation hold for every request on it.
 */
function streamInfer(openInference: OpenInference): handleBidiStreamingCall<Buffer, Buffer> {
  return (stream: ServerDuplexStream<Buffer, Buffer>) => {
    const cancelled = newCancelFlag();
    stream.once('cancelled', () => cancelRuns(cancelled));
    let call: InferCall<'raw'>;
    try {
      call = { deadlineUs: deadlineOf(stream), cancelled, outputEncoding: 'raw' };
    } catch (error) {
      stream.emit('error', toGrpcError(error));
      return;
    }
    let answered: Promise<void> = Promise.resolve();
    stream.on('data', (bytes: Buffer) => {
      const answer = streamAnswer(openInference, bytes, call);
      answered = answered.then(async () => {
        const response = await answer;
        if (!stream.cancelled) stream.write(response);
      });
    });
    stream.on('end', () => void answered.then(() => stream.end()));
  };
}

/** One stream request's ModelStreamInferResponse: its infer_response, or its error_message. */
async function streamAnswer(openInference: OpenInference, bytes: Buffer, call: InferCall<'raw'>): Promise<Buffer> {
  const start = performance.now();
  let modelName: string | undefined;
  const record = (status: StatusCodeName) => {
    if (modelName !== undefined) {
      recordRequest(modelName, STREAM_INFER_API, 'GRPC', status, (performance.now() - start) * 1000);
    }
  };
  try {
    const message = decodeRequest<ModelInferRequestMessage>(Protos.ModelInferRequest, bytes);
    modelName = message.model_name;
    const response = encodeStreamInferResponse(await openInference.infer(inferRequestOf(message), call));
    record('OK');
    return response;
  } catch (error) {
    const serving = toServingError(error);
    record(serving.code);
    return Buffer.from(
      Protos.ModelStreamInferResponse.encode({ error_message: boundedStatusMessage(serving.message) }).finish(),
    );
  }
}
