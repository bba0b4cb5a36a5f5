/**
 * An InferResponse as the body of the REST /infer answer: the protocol's JSON object, each
 * output's values in `data` (row-major, flat; FP16 and BF16 as numbers, BYTES as UTF-8
 * strings), or, for an output asked for with binary_data (or every output under the request's
 * binary_data_output), only its `binary_data_size` in the JSON and its bytes after it: a
 * numeric output's bytes are the output tensor's own (viewed, never copied), BYTES are each
 * element's 4-byte little-endian length, then its bytes.
 */
import type { HostTensorOutput } from '../../../native/backend_addon';
import { rawOutputOf } from '../../../native/output_encoding';
import { bfloat16ToNumber, halfToNumber } from '../../../tensors/float16';
import { tensorValues } from '../../../tensors/typed_tensor';
import type { V2Datatype } from '../../../tensors/v2_datatype';
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
    const bytes = rawOutputOf(output.tensor).raw;
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

/** The output's values as a flat JSON array. */
function jsonData(datatype: V2Datatype, tensor: HostTensorOutput): string {
  if (datatype === 'BYTES') {
    return `[${(tensor.strings ?? []).map((bytes) => JSON.stringify(bytes.toString('utf8'))).join(',')}]`;
  }
  const view = tensorValues(tensor.dtype, tensor.data, undefined) as ArrayLike<number | bigint> & {
    join(separator: string): string;
  };
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
