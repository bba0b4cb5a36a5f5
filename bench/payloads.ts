/**
 * Request bytes built once per model and reused by every call: the gRPC PredictRequest, the
 * REST JSON body, and the input TensorProto handed to the addon in-process. Plus reading a
 * response back, for the one-off sanity check before timing.
 */
import { Protos } from '../src/protos';
import { DataType } from '../src/tensors/data_type';
import type { BenchModel } from './models';
import type { RequestTensorEncoding } from './options';

export interface Payload {
  /** Serialized tensorflow.TensorProto of the input. */
  tensorProto: Buffer;
  /** Serialized tensorflow.serving.PredictRequest. */
  predictRequest: Buffer;
  /** TF-Serving REST row format: {"instances": ...}. */
  restBody: Buffer;
}

export interface DenseTensor {
  shape: number[];
  values: Float32Array;
}

export function tensorMessage(tensor: DenseTensor, encoding: RequestTensorEncoding) {
  return {
    dtype: DataType.DT_FLOAT,
    tensor_shape: { dim: tensor.shape.map((size) => ({ size })) },
    ...(encoding === 'content'
      ? { tensor_content: Buffer.from(tensor.values.buffer, tensor.values.byteOffset, tensor.values.byteLength) }
      : { float_val: Array.from(tensor.values) }),
  };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function predictRequestBytes(model: BenchModel, encoding: RequestTensorEncoding): Buffer {
  return toBuffer(
    Protos.PredictRequest.encode({
      model_spec: { name: model.name, signature_name: 'serving_default' },
      inputs: { [model.inputAlias]: tensorMessage(model, encoding) },
    }).finish(),
  );
}

/** Nested arrays of the tensor's values, row-major, as JSON clients send them. */
function nested(values: Float32Array, shape: number[]): unknown {
  if (shape.length <= 1) return Array.from(values);
  const stride = values.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) =>
    nested(values.subarray(i * stride, (i + 1) * stride), shape.slice(1)),
  );
}

export function buildPayload(model: BenchModel, encoding: RequestTensorEncoding): Payload {
  return {
    tensorProto: toBuffer(Protos.TensorProto.encode(tensorMessage(model, encoding)).finish()),
    predictRequest: predictRequestBytes(model, encoding),
    restBody: Buffer.from(JSON.stringify({ instances: nested(model.values, model.shape) })),
  };
}

interface TensorProtoObject {
  dtype?: number;
  tensor_shape?: { dim?: Array<{ size: number }> };
  float_val?: number[];
  tensor_content?: Buffer;
}

/** A float TensorProto (object form) as shape + values, from float_val or tensor_content. */
function denseOf(tensor: TensorProtoObject): DenseTensor {
  if (tensor.dtype !== DataType.DT_FLOAT) throw new Error(`expected a DT_FLOAT output, got dtype ${tensor.dtype}`);
  const shape = (tensor.tensor_shape?.dim ?? []).map((dim) => Number(dim.size));
  const count = shape.reduce((product, size) => product * size, 1);
  let values: Float32Array;
  if (tensor.tensor_content && tensor.tensor_content.length > 0) {
    values = new Float32Array(Uint8Array.from(tensor.tensor_content).buffer);
  } else {
    const fields = tensor.float_val ?? [];
    values = fields.length === 1 && count > 1 ? new Float32Array(count).fill(fields[0]) : Float32Array.from(fields);
  }
  if (values.length !== count) throw new Error(`output holds ${values.length} values for shape [${shape}]`);
  return { shape, values };
}

const OBJECT_OPTIONS = { longs: Number, bytes: Buffer, defaults: false } as const;

export function decodeTensorProto(bytes: Uint8Array): DenseTensor {
  return denseOf(Protos.TensorProto.toObject(Protos.TensorProto.decode(bytes), OBJECT_OPTIONS));
}

export function predictResponseOutput(bytes: Uint8Array, alias: string): DenseTensor {
  const response = Protos.PredictResponse.toObject(Protos.PredictResponse.decode(bytes), OBJECT_OPTIONS) as {
    outputs?: Record<string, TensorProtoObject>;
  };
  const output = response.outputs?.[alias];
  if (!output)
    throw new Error(`PredictResponse has no output "${alias}" (has: ${Object.keys(response.outputs ?? {})})`);
  return denseOf(output);
}

/** A REST predict answer ({"predictions": nested rows}) as shape + values. */
export function restPredictions(body: Buffer): DenseTensor {
  const parsed = JSON.parse(body.toString('utf8')) as { predictions?: unknown };
  if (!Array.isArray(parsed.predictions))
    throw new Error(`REST answer has no "predictions": ${body.toString().slice(0, 200)}`);
  const shape: number[] = [];
  for (let level: unknown = parsed.predictions; Array.isArray(level); level = level[0]) shape.push(level.length);
  return { shape, values: Float32Array.from((parsed.predictions as unknown[]).flat(Infinity) as number[]) };
}
