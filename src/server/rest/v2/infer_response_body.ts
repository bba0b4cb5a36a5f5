/**
 * An InferResponse as the body of the REST /infer answer: the protocol's JSON object, each
 * output's values in `data` (row-major, flat; FP16 and BF16 as numbers, BYTES as UTF-8
 * strings), or, for an output asked for with binary_data (or every output under the request's
 * binary_data_output), only its `binary_data_size` in the JSON and its bytes after it: a
 * numeric output's bytes are the output tensor's own (viewed, never copied), BYTES are each
 * element's 4-byte little-endian length, then its bytes.
 */
import type { HostTensorOutput } from '../../../native/backend_addon';
import { bfloat16ToNumber, halfToNumber } from '../../../tensors/float16';
import { v2ElementBytes, type V2Datatype } from '../../../tensors/v2_datatype';
import type { InferOutput, InferParameters, InferResponse } from '../../open_inference/infer_request';

export interface InferResponseBody {
  /** The JSON's length in bytes when binary outputs follow it (the answer's Inference-Header-Content-Length). */
  jsonLength?: number;
  /** The JSON, then each binary output's bytes, in output order: sent one after the other, not joined. */
  chunks: Buffer[];
  /** Bytes in all. */
  length: number;
}

/** The body answering a request with `requestParameters` (its binary_data_output). */
export function inferResponseBody(response: InferResponse, requestParameters: InferParameters): InferResponseBody {
  const binaryByDefault = requestParameters.get('binary_data_output') === true;
  const binaries: Buffer[] = [];
  const outputs = response.outputs.map((output) => {
    const binaryData = output.requested?.parameters.get('binary_data');
    if (!(binaryData === true || (binaryData === undefined && binaryByDefault))) {
      return outputJson(output, `"data":${jsonData(output.datatype, output.tensor)}`);
    }
    const bytes = binaryBytes(output.datatype, output.tensor);
    binaries.push(bytes);
    return outputJson(output, `"parameters":{"binary_data_size":${bytes.length}}`);
  });
  const id = response.id === '' ? '' : `"id":${JSON.stringify(response.id)},`;
  const json = Buffer.from(
    `{"model_name":${JSON.stringify(response.modelName)},"model_version":${JSON.stringify(response.modelVersion)},` +
      `${id}"outputs":[${outputs.join(',')}]}`,
    'utf8',
  );
  const length = binaries.reduce((sum, bytes) => sum + bytes.length, json.length);
  return binaries.length === 0
    ? { chunks: [json], length }
    : { jsonLength: json.length, chunks: [json, ...binaries], length };
}

function outputJson(output: InferOutput, contents: string): string {
  return (
    `{"name":${JSON.stringify(output.name)},"datatype":"${output.datatype}",` +
    `"shape":[${output.shape.join(',')}],${contents}}`
  );
}

function elementCount(tensor: HostTensorOutput): number {
  return tensor.shape.reduce((count, dim) => count * dim, 1);
}

type NumericView = ArrayLike<number | bigint> & { join(separator: string): string };

const VIEWS: Partial<Record<V2Datatype, new (buffer: ArrayBuffer, offset: number, length: number) => NumericView>> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  BF16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

/** The output's values as a flat JSON array. */
function jsonData(datatype: V2Datatype, tensor: HostTensorOutput): string {
  if (datatype === 'BYTES') {
    return `[${(tensor.strings ?? []).map((bytes) => JSON.stringify(bytes.toString('utf8'))).join(',')}]`;
  }
  const count = elementCount(tensor);
  const view = new VIEWS[datatype]!(tensor.data ?? new ArrayBuffer(0), 0, count);
  switch (datatype) {
    case 'BOOL':
      return `[${Array.from(view, (value) => (value ? 'true' : 'false')).join(',')}]`;
    case 'FP16':
      return `[${Array.from(view, (bits) => String(halfToNumber(Number(bits)))).join(',')}]`;
    case 'BF16':
      return `[${Array.from(view, (bits) => String(bfloat16ToNumber(Number(bits)))).join(',')}]`;
    default:
      // Integers as their digits (64-bit ones exact, from a BigInt view); floats as the shortest text that reads back.
      return `[${view.join(',')}]`;
  }
}

/** The output's bytes in the binary tensor extension's layout. */
function binaryBytes(datatype: V2Datatype, tensor: HostTensorOutput): Buffer {
  if (datatype !== 'BYTES') {
    return Buffer.from(tensor.data ?? new ArrayBuffer(0), 0, elementCount(tensor) * v2ElementBytes(datatype));
  }
  const strings = tensor.strings ?? [];
  const bytes = Buffer.allocUnsafe(strings.reduce((sum, element) => sum + 4 + element.length, 0));
  let at = 0;
  for (const element of strings) {
    at = bytes.writeUInt32LE(element.length, at);
    at += element.copy(bytes, at);
  }
  return bytes;
}
