/**
 * A typed client of TF-Serving's gRPC API (tensorflow.serving.PredictionService and ModelService)
 * over grpc-js and the project's protos: any TF-Serving-compatible server, duoserve or not.
 * Tensors go out as TensorProto tensor_content (strings as string_val) and come back decoded by
 * the server's own TensorProto decoder (the codec addon, off the JS thread) into typed arrays.
 * A failed call rejects with ServingError carrying the server's status code and message.
 */
import * as grpc from '@grpc/grpc-js';
import type { ModelEntry } from '../config/model_entries';
import { modelServerConfigObject } from '../config/model_entries';
import type { ServableState } from '../core/servable_state';
import { invalidArgument } from '../errors/serving_error';
import { statusCodeOfGrpc } from '../errors/status_code';
import type { ModelSpec, PredictOptions } from '../library/model_host';
import { inputObject, type ExamplesInput } from '../library/example_features';
import { tensorSourcesOf, type TensorInput } from '../library/tensor_input';
import { loadTensorCodec, type TensorSource } from '../native/backend_addon';
import { Protos } from '../protos';
import type { SignatureMap } from '../servables/signature';
import { DataType } from '../tensors/data_type';
import { tensorValues, type TypedTensor } from '../tensors/typed_tensor';
import { servingErrorOfGrpc } from './client_errors';
import type {
  AnsweringModelSpec,
  ClassifyResult,
  ModelVersionStatus,
  PredictResult,
  RegressResult,
} from './client_types';
import { signatureMapOf } from './signature_def_map';

export interface GrpcClientOptions {
  /** Default: insecure (plain TCP or a unix: socket). */
  credentials?: grpc.ChannelCredentials;
  /** grpc-js channel options ('grpc.max_receive_message_length', ...). */
  channelOptions?: grpc.ChannelOptions;
}

export interface CallOptions {
  /** The call's deadline, from now; default 30 s. */
  timeoutMs?: number;
}

const PREDICTION_SERVICE = '/tensorflow.serving.PredictionService/';
const MODEL_SERVICE = '/tensorflow.serving.ModelService/';
const DEFAULT_TIMEOUT_MS = 30_000;
const SIGNATURE_DEF_MAP_FIELD = 'signature_def';
const STATE_NAMES: Readonly<Record<number, ServableState>> = {
  10: 'START',
  20: 'LOADING',
  30: 'AVAILABLE',
  40: 'UNLOADING',
  50: 'END',
};
const identity = (bytes: Buffer) => bytes;

export class GrpcServingClient {
  private readonly client: grpc.Client;

  /** `target`: "host:port" or "unix:/path/to/socket". */
  constructor(target: string, options: GrpcClientOptions = {}) {
    this.client = new grpc.Client(
      target,
      options.credentials ?? grpc.credentials.createInsecure(),
      options.channelOptions,
    );
  }

  /** Predict: the outputs by alias, as typed arrays with their shapes. */
  async predict(
    spec: ModelSpec,
    inputs: Readonly<Record<string, TensorInput>> | ReadonlyMap<string, TensorInput>,
    options: PredictOptions = {},
  ): Promise<PredictResult> {
    const sources = tensorSourcesOf(inputs);
    const encoded = await Promise.all(
      [...sources].map(async ([alias, source]) => [alias, await tensorProtoBytes(alias, source)] as const),
    );
    const request = Protos.PredictRequestEnvelope.encode({
      model_spec: modelSpecMessage(spec, options.signatureName),
      inputs: Object.fromEntries(encoded),
      output_filter: options.outputFilter ?? [],
    }).finish();
    const answer = await this.call(PREDICTION_SERVICE + 'Predict', request, options.timeoutMs);
    const response = Protos.PredictResponseEnvelope.toObject(Protos.PredictResponseEnvelope.decode(answer), {
      longs: Number,
      defaults: true,
    });
    const codec = loadTensorCodec();
    const outputs = await Promise.all(
      Object.entries(response.outputs as Record<string, Uint8Array>).map(async ([alias, bytes]) => {
        const tensor = await codec.decode(bytes);
        const typed: TypedTensor = {
          dtype: tensor.dtype,
          shape: tensor.shape,
          values: tensorValues(tensor.dtype, tensor.data, tensor.strings),
        };
        return [alias, typed] as const;
      }),
    );
    return { outputs: Object.fromEntries(outputs), modelSpec: answeringSpec(response.model_spec) };
  }

  /** Classify on tf.Examples: each example's classes (label, score). */
  async classify(spec: ModelSpec, input: ExamplesInput, options: CallOptions = {}): Promise<ClassifyResult> {
    const response = await this.exampleCall('Classify', Protos.ClassificationRequest, Protos.ClassificationResponse, {
      spec,
      input,
      timeoutMs: options.timeoutMs,
    });
    const classifications = (response.result?.classifications ?? []).map((entry: any) =>
      (entry.classes ?? []).map((cls: any) => ({ label: cls.label ?? '', score: cls.score ?? 0 })),
    );
    return { classifications, modelSpec: answeringSpec(response.model_spec) };
  }

  /** Regress on tf.Examples: one value per example. */
  async regress(spec: ModelSpec, input: ExamplesInput, options: CallOptions = {}): Promise<RegressResult> {
    const response = await this.exampleCall('Regress', Protos.RegressionRequest, Protos.RegressionResponse, {
      spec,
      input,
      timeoutMs: options.timeoutMs,
    });
    const values = Float32Array.from((response.result?.regressions ?? []).map((entry: any) => entry.value ?? 0));
    return { values, modelSpec: answeringSpec(response.model_spec) };
  }

  /** GetModelMetadata: the answering version and its signatures, as the server's SignatureMap. */
  async getModelMetadata(
    spec: ModelSpec,
    options: CallOptions = {},
  ): Promise<{ modelSpec: AnsweringModelSpec; signatures: SignatureMap }> {
    const request = Protos.GetModelMetadataRequest.encode({
      model_spec: modelSpecMessage(spec),
      metadata_field: [SIGNATURE_DEF_MAP_FIELD],
    }).finish();
    const answer = await this.call(PREDICTION_SERVICE + 'GetModelMetadata', request, options.timeoutMs);
    const response = Protos.GetModelMetadataResponse.decode(answer) as any;
    const any = response.metadata?.[SIGNATURE_DEF_MAP_FIELD];
    const defs = any ? Protos.SignatureDefMap.decode(any.value) : Protos.SignatureDefMap.create();
    const signatures = signatureMapOf(
      Protos.SignatureDefMap.toObject(defs, { enums: String, longs: String, defaults: true }),
    );
    const modelSpec = answeringSpec(Protos.GetModelMetadataResponse.toObject(response, { longs: Number }).model_spec);
    return { modelSpec, signatures };
  }

  /** GetModelStatus: the named version, or every version the server knows of. */
  async getModelStatus(spec: ModelSpec, options: CallOptions = {}): Promise<ModelVersionStatus[]> {
    const request = Protos.GetModelStatusRequest.encode({ model_spec: modelSpecMessage(spec) }).finish();
    const answer = await this.call(MODEL_SERVICE + 'GetModelStatus', request, options.timeoutMs);
    const response = Protos.GetModelStatusResponse.toObject(Protos.GetModelStatusResponse.decode(answer), {
      longs: Number,
      defaults: true,
    });
    return response.model_version_status.map((entry: any) => ({
      version: entry.version,
      state: STATE_NAMES[entry.state] ?? 'START',
      status: { code: statusCodeOfGrpc(entry.status?.error_code ?? 0), message: entry.status?.error_message ?? '' },
    }));
  }

  /**
   * HandleReloadConfigRequest with these models (their base paths as the server sees them, each
   * with its platform): resolves once the server has applied the config and loaded the new models.
   */
  async reloadConfig(models: readonly ModelEntry[], options: CallOptions = {}): Promise<void> {
    const request = Protos.ReloadConfigRequest.encode(
      Protos.ReloadConfigRequest.fromObject({ config: modelServerConfigObject(models) }),
    ).finish();
    await this.call(MODEL_SERVICE + 'HandleReloadConfigRequest', request, options.timeoutMs ?? 120_000);
  }

  close(): void {
    this.client.close();
  }

  private async exampleCall(
    method: string,
    requestType: typeof Protos.ClassificationRequest,
    responseType: typeof Protos.ClassificationResponse,
    { spec, input, timeoutMs }: { spec: ModelSpec; input: ExamplesInput; timeoutMs?: number },
  ): Promise<any> {
    const request = requestType
      .encode(requestType.fromObject({ model_spec: modelSpecMessage(spec), input: inputObject(input) }))
      .finish();
    const answer = await this.call(PREDICTION_SERVICE + method, request, timeoutMs);
    return responseType.toObject(responseType.decode(answer), { longs: Number, defaults: true });
  }

  private call(method: string, request: Uint8Array, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method,
        identity,
        identity,
        Buffer.from(request.buffer, request.byteOffset, request.byteLength),
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => (error ? reject(servingErrorOfGrpc(error)) : resolve(response!)),
      );
    });
  }
}

/** tensorflow.serving.ModelSpec for `spec`. */
function modelSpecMessage(spec: ModelSpec, signatureName?: string) {
  const {
    name,
    version,
    label,
    signatureName: named,
  } = typeof spec === 'string' ? { name: spec, version: undefined, label: undefined, signatureName: undefined } : spec;
  return {
    name,
    ...(version !== undefined ? { version: { value: version } } : {}),
    ...(label !== undefined ? { version_label: label } : {}),
    signature_name: named ?? signatureName ?? '',
  };
}

function answeringSpec(spec: any): AnsweringModelSpec {
  return {
    name: spec?.name ?? '',
    version: Number(spec?.version?.value ?? 0),
    signatureName: spec?.signature_name ?? '',
  };
}

/** An input as TensorProto bytes: dense values as tensor_content, strings as string_val. */
async function tensorProtoBytes(alias: string, source: TensorSource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if ('dtype' in source && 'strings' in source) {
    const tensor_shape = { dim: source.shape.map((size) => ({ size })) };
    return Protos.TensorProto.encode({ dtype: source.dtype, tensor_shape, string_val: source.strings }).finish();
  }
  if ('dtype' in source && source.dtype !== DataType.DT_STRING) {
    if (!ArrayBuffer.isView(source.data)) throw invalidArgument(`input ${alias}: data is not a typed array`);
    const { buffer, byteOffset, byteLength } = source.data;
    return Protos.TensorProto.encode({
      dtype: source.dtype,
      tensor_shape: { dim: source.shape.map((size) => ({ size })) },
      tensor_content: new Uint8Array(buffer, byteOffset, byteLength),
    }).finish();
  }
  // A HostTensorHandle, or raw BYTES contents: the codec reads them as a tensor and writes its TensorProto.
  const codec = loadTensorCodec();
  return codec.encode('dtype' in source ? (await codec.decode(source)).handle : source, 'content');
}
