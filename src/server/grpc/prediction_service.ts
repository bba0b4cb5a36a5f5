import { Metadata, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import type { Manager } from '../../core/manager';
import { invalidArgument } from '../../errors/serving_error';
import type { OutputEncoding } from '../../native/backend_addon';
import { Protos } from '../../protos';
import { classify } from '../../servables/classifier';
import { ExampleInferenceOptions, ExamplesRequest, signatureNameOf } from '../../servables/example_inference';
import type { InferenceServable } from '../../servables/inference_servable';
import { predictInputs } from '../../servables/predict_inputs';
import { predict } from '../../servables/predictor';
import { InferenceTaskMessage, multiInference } from '../../servables/multi_inference';
import { regress } from '../../servables/regressor';
import type { ServerRequestLogger } from '../../request_logging/server_request_logger';
import type { SerializedInput } from '../../servables/serialized_input';
import { DEFAULT_SIGNATURE_NAME } from '../../servables/signature';
import { encodeSignatureDefMap, SIGNATURE_DEF_MAP_TYPE_URL } from '../../servables/signature_def';
import { CHAIN_TIMING_HEADER, stepTimingHeaders, timingsRequested } from '../chain_timing';
import { loggedSpec, ModelSpecMessage, responseModelSpec, servableRequestOf } from '../model_spec';
import type { ModelQueueBound } from '../model_queue_bound';
import { withServable } from '../with_servable';
import { encodePredictResponse } from './predict_response';
import { rawUnaryMethod } from './raw_method';
import { decodeRequest, unaryHandler } from './unary_handler';

const SERVICE = 'tensorflow.serving.PredictionService';

export const predictionServiceDefinition = {
  Classify: rawUnaryMethod(SERVICE, 'Classify'),
  Regress: rawUnaryMethod(SERVICE, 'Regress'),
  Predict: rawUnaryMethod(SERVICE, 'Predict'),
  MultiInference: rawUnaryMethod(SERVICE, 'MultiInference'),
  GetModelMetadata: rawUnaryMethod(SERVICE, 'GetModelMetadata'),
};

/** Opt-in per request (or for all, --enable_serialization_as_tensor_content): outputs as tensor_content. */
export const OUTPUT_ENCODING_HEADER = 'x-duoserve-output-encoding';

interface PredictEnvelope {
  model_spec?: ModelSpecMessage;
  inputs: Record<string, Buffer>;
  output_filter: string[];
}

/** ClassificationRequest / RegressionRequest through their envelopes: each Example stays bytes. */
interface ExampleRequestEnvelope {
  model_spec?: ModelSpecMessage | null;
  input?: SerializedInput | null;
}

interface MultiInferenceRequestEnvelope {
  tasks: InferenceTaskMessage[];
  input?: SerializedInput | null;
}

interface MetadataRequest {
  model_spec?: ModelSpecMessage;
  metadata_field: string[];
}

/** Classify and Regress require a ModelSpec (TF-Serving's "Missing ModelSpec"). */
function modelSpecOf(spec: ModelSpecMessage | null | undefined): ModelSpecMessage {
  if (!spec) throw invalidArgument('Missing ModelSpec');
  return spec;
}

function outputEncoding(metadata: Metadata, options: PredictionServiceOptions): OutputEncoding {
  if (options.serializeAsTensorContent) return 'content';
  const [value] = metadata.get(OUTPUT_ENCODING_HEADER);
  return value === 'tensor_content' ? 'content' : 'fields';
}

/** What the service needs besides the manager (flags). */
export interface PredictionServiceOptions extends ExampleInferenceOptions {
  /**
   * --enable_serialization_as_tensor_content: every Predict output as tensor_content (TF-Serving's
   * kAsProtoContent), not only those of requests with the header.
   */
  serializeAsTensorContent?: boolean;
  /** --duoserve_max_queued_requests_per_model, for the inference APIs (not GetModelMetadata). */
  queueBound?: ModelQueueBound;
  /** Logs the sampled requests of models with a logging_config: as received, with the response sent. */
  requestLogger?: ServerRequestLogger;
}

export function predictionService(
  manager: Manager,
  options: PredictionServiceOptions = {},
): UntypedServiceImplementation {
  const bounded = { queueBound: options.queueBound };
  /** Classify and Regress: a ModelSpec is required, and the response names the signature used. */
  const requestLogger = options.requestLogger;
  const exampleHandler = (
    api: 'Classify' | 'Regress',
    envelope: protobuf.Type,
    response: protobuf.Type,
    run: (servable: InferenceServable, request: ExamplesRequest) => Promise<object>,
  ) =>
    unaryHandler(async (bytes, call) => {
      const request = decodeRequest<ExampleRequestEnvelope>(envelope, bytes);
      call.modelName = request.model_spec?.name ?? '';
      const spec = modelSpecOf(request.model_spec);
      const logger = requestLogger?.sampled(call.modelName);
      return withServable(
        manager,
        servableRequestOf(spec),
        async (handle) => {
          const result = await run(handle.servable, {
            signatureName: spec.signature_name,
            input: request.input,
            deadlineUs: call.deadlineUs,
            cancelled: call.cancelled,
            origin: { modelName: call.modelName!, api },
          });
          const signatureName = signatureNameOf(spec.signature_name);
          const answer = response
            .encode({ model_spec: responseModelSpec(handle.id.name, handle.id.version, signatureName), result })
            .finish();
          logger?.log(
            api === 'Classify' ? 'classify_log' : 'regress_log',
            loggedSpec(handle.id, signatureName),
            bytes,
            answer,
          );
          return answer;
        },
        bounded,
      );
    }, api);

  return {
    Classify: exampleHandler(
      'Classify',
      Protos.ClassificationRequestEnvelope,
      Protos.ClassificationResponse,
      (servable, request) => classify(servable, request, options),
    ),
    Regress: exampleHandler(
      'Regress',
      Protos.RegressionRequestEnvelope,
      Protos.RegressionResponse,
      (servable, request) => regress(servable, request, options),
    ),

    // The first task's ModelSpec picks the servable; every task must name the same model.
    MultiInference: unaryHandler(async (bytes, call) => {
      const { tasks, input } = decodeRequest<MultiInferenceRequestEnvelope>(
        Protos.MultiInferenceRequestEnvelope,
        bytes,
      );
      const logger = requestLogger?.sampled(tasks[0]?.model_spec?.name ?? '');
      return withServable(
        manager,
        servableRequestOf(tasks[0]?.model_spec),
        async (handle) => {
          const results = await multiInference(handle.servable, handle.id.version, tasks, input, options, {
            deadlineUs: call.deadlineUs,
            cancelled: call.cancelled,
          });
          const answer = Protos.MultiInferenceResponse.encode({ results }).finish();
          logger?.log('multi_inference_log', loggedSpec(handle.id), bytes, answer);
          return answer;
        },
        bounded,
      );
    }),

    Predict: unaryHandler(async (bytes, call) => {
      const request = decodeRequest<PredictEnvelope>(Protos.PredictRequestEnvelope, bytes);
      call.modelName = request.model_spec?.name ?? '';
      const logger = requestLogger?.sampled(call.modelName);
      return withServable(
        manager,
        servableRequestOf(request.model_spec),
        async (handle) => {
          const signatureName = request.model_spec?.signature_name || DEFAULT_SIGNATURE_NAME;
          const timings = timingsRequested(call.metadata.get(CHAIN_TIMING_HEADER));
          const outputs = await predict(handle.servable, {
            signatureName,
            inputs: predictInputs(request.inputs),
            outputFilter: request.output_filter,
            encoding: outputEncoding(call.metadata, options),
            timings,
            deadlineUs: call.deadlineUs,
            cancelled: call.cancelled,
            origin: { modelName: call.modelName!, api: 'Predict' },
          });
          if (timings) {
            call.trailer = new Metadata();
            for (const [key, value] of stepTimingHeaders(timings)) call.trailer.set(key, value);
          }
          // 'fields' and 'content' runs answer TensorProto bytes.
          const answer = encodePredictResponse(
            outputs as Map<string, Uint8Array>,
            handle.id.name,
            handle.id.version,
            signatureName,
          );
          logger?.log('predict_log', loggedSpec(handle.id, signatureName), bytes, answer);
          return answer;
        },
        bounded,
      );
    }, 'Predict'),

    GetModelMetadata: unaryHandler(async (bytes) => {
      const request = decodeRequest<MetadataRequest>(Protos.GetModelMetadataRequest, bytes);
      const servableRequest = servableRequestOf(request.model_spec);
      if (request.metadata_field.length === 0) {
        throw invalidArgument('GetModelMetadataRequest must specify at least one metadata_field');
      }
      for (const field of request.metadata_field) {
        if (field !== 'signature_def') throw invalidArgument(`Metadata field ${field} is not supported`);
      }
      return withServable(manager, servableRequest, async (handle) =>
        Protos.GetModelMetadataResponse.encode({
          model_spec: responseModelSpec(handle.id.name, handle.id.version),
          metadata: {
            signature_def: {
              type_url: SIGNATURE_DEF_MAP_TYPE_URL,
              value: encodeSignatureDefMap(handle.servable.signatures),
            },
          },
        }).finish(),
      );
    }),
  };
}
