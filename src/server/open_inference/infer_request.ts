/**
 * The Open Inference Protocol's (KServe v2) inference request and response, as both transports
 * hand them over: gRPC's inference.ModelInferRequest (grpc/inference_service.ts) and REST's
 * /v2/.../infer JSON or binary body (rest/v2/). Each transport only decodes its wire form into
 * these; OpenInference (open_inference.ts) checks and runs them once, for both.
 */
import type { HostTensorOutput, RawTensorOutput } from '../../native/backend_addon';
import type { V2Datatype } from '../../tensors/v2_datatype';

/** An InferParameter's value (bool, int64, uint64, double or string). */
export type InferParameterValue = boolean | number | bigint | string;
export type InferParameters = ReadonlyMap<string, InferParameterValue>;

/**
 * One input's values, as the transport received them:
 * - `raw`: raw_input_contents / the binary extension's bytes: row-major, little-endian; BYTES as
 *   each element's 4-byte little-endian length, then its bytes. Viewed, never copied, here.
 * - `values`: gRPC's typed `contents` or REST's JSON `data`, flattened in row-major order
 *   (numbers or bigints for numeric datatypes, booleans for BOOL, strings or bytes for BYTES).
 */
export type InferInputContents =
  { raw: Uint8Array } | { values: ArrayLike<number | bigint | boolean> | ArrayLike<string | Uint8Array> };

export interface InferInput {
  /** The signature's input alias. */
  name: string;
  /** As sent; OpenInference checks it. */
  datatype: string;
  shape: number[];
  parameters: InferParameters;
  contents: InferInputContents;
}

export interface InferRequestedOutput {
  /** The signature's output alias. */
  name: string;
  /** E.g. REST's binary_data; passed back on the output (InferOutput.requested). */
  parameters: InferParameters;
}

export interface InferRequest {
  modelName: string;
  /** '' (the latest) or a version number; a label goes in parameters.version_label. */
  modelVersion: string;
  /** Echoed in the response. */
  id: string;
  /**
   * Request parameters duoserve reads: `signature_name` (default: serving_default) and
   * `version_label` (TF-Serving's version labels). Others are ignored, as the protocol allows.
   */
  parameters: InferParameters;
  inputs: InferInput[];
  /** Empty: every output of the signature. */
  outputs: InferRequestedOutput[];
}

/** How OpenInference.infer answers the outputs: the tensor ('host') or its raw contents ('raw'). */
export type InferOutputEncoding = 'host' | 'raw';

export interface InferOutput<E extends InferOutputEncoding = 'host'> {
  /** The signature's output alias. */
  name: string;
  datatype: V2Datatype;
  shape: number[];
  /**
   * The output itself, in the InferCall's outputEncoding: a 'host' output (its bytes viewed,
   * not copied), or a 'raw' one (its raw contents in one Buffer).
   */
  tensor: E extends 'raw' ? RawTensorOutput : HostTensorOutput;
  /** The request's entry for this output, when it named it (its parameters: binary_data, ...). */
  requested?: InferRequestedOutput;
}

export interface InferResponse<E extends InferOutputEncoding = 'host'> {
  /** The model and the version that ran the request. */
  modelName: string;
  modelVersion: string;
  id: string;
  outputs: Array<InferOutput<E>>;
}

/** ModelMetadataResponse / GET /v2/models/{name}[/versions/{v}]. */
export interface ModelMetadata {
  name: string;
  /** The AVAILABLE versions, as strings. */
  versions: string[];
  /** The model's model_platform (tensorflow, pytorch, chain). */
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface TensorMetadata {
  name: string;
  /** '' where the model does not declare the dtype, or v2 has none for it (complex). */
  datatype: V2Datatype | '';
  /** -1 for a dimension of any size; [-1] for an unknown rank. */
  shape: number[];
}

/** ServerMetadataResponse / GET /v2. */
export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}
