/**
 * An InferResponse written as the /v2 infer answer: every datatype's values in JSON (64-bit
 * integers exact, FP16/BF16 as numbers), and binary outputs after the JSON header, a numeric
 * output's bytes being the output tensor's own memory (not a copy) and BYTES length-prefixed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostTensorHandle, HostTensorOutput } from '../../../../src/native/backend_addon';
import type { InferOutput, InferResponse } from '../../../../src/server/open_inference/infer_request';
import { inferResponseBody } from '../../../../src/server/rest/v2/infer_response_body';
import { bfloat16Bits, halfBits } from '../../../../src/tensors/float16';
import { parseJsonText } from '../../../../src/tensors/json_parse';
import { dataTypeOfV2, type V2Datatype } from '../../../../src/tensors/v2_datatype';

/** A 'host' output as the native run hands it over; the handle is only carried along here. */
function host(datatype: V2Datatype, shape: number[], data: ArrayBufferView | Buffer[]): HostTensorOutput {
  const dtype = dataTypeOfV2(datatype)!;
  const handle = {} as HostTensorHandle;
  if (Array.isArray(data)) return { dtype, shape, strings: data, handle };
  // The native output's ArrayBuffer holds exactly its bytes.
  const bytes = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  return { dtype, shape, data: bytes, handle };
}

function output(
  name: string,
  datatype: V2Datatype,
  shape: number[],
  data: ArrayBufferView | Buffer[],
  binary?: boolean,
): InferOutput {
  const requested = binary === undefined ? undefined : { name, parameters: new Map([['binary_data', binary]]) };
  return { name, datatype, shape, tensor: host(datatype, shape, data), requested };
}

function response(outputs: InferOutput[], id = 'r1'): InferResponse {
  return { modelName: 'm', modelVersion: '2', id, outputs };
}

const NO_PARAMETERS = new Map();

describe('inferResponseBody', () => {
  it('writes every datatype as JSON numbers, booleans or strings', () => {
    const body = inferResponseBody(
      response([
        output('bool', 'BOOL', [3], new Uint8Array([1, 0, 1])),
        output('uint8', 'UINT8', [2], new Uint8Array([0, 255])),
        output('uint16', 'UINT16', [1], new Uint16Array([65535])),
        output('uint32', 'UINT32', [1], new Uint32Array([4294967295])),
        output('uint64', 'UINT64', [1], new BigUint64Array([18446744073709551615n])),
        output('int8', 'INT8', [2], new Int8Array([-128, 127])),
        output('int16', 'INT16', [1], new Int16Array([-32768])),
        output('int32', 'INT32', [2, 1], new Int32Array([-2147483648, 7])),
        output('int64', 'INT64', [1], new BigInt64Array([-9223372036854775808n])),
        output('fp16', 'FP16', [2], new Uint16Array([halfBits(1.5), halfBits(-0.099975586)])),
        output('bf16', 'BF16', [1], new Uint16Array([bfloat16Bits(3.140625)])),
        output('fp32', 'FP32', [3], new Float32Array([0.5, 0.1, -2])),
        output('fp64', 'FP64', [1], new Float64Array([0.1])),
        output('bytes', 'BYTES', [2], [Buffer.from('héllo'), Buffer.from('"q"')]),
      ]),
      NO_PARAMETERS,
    );
    assert.equal(body.jsonLength, undefined);
    assert.equal(body.chunks.length, 1);
    assert.equal(body.length, body.chunks[0].length);
    // The repository's JSON reader keeps integers beyond 2^53 exact, as bigint.
    const json = parseJsonText(body.chunks[0].toString('utf8')) as unknown as {
      model_name: string;
      model_version: string;
      id: string;
      outputs: Array<{ name: string; data: unknown }>;
    };
    assert.equal(json.model_name, 'm');
    assert.equal(json.model_version, '2');
    assert.equal(json.id, 'r1');
    const data = Object.fromEntries(json.outputs.map((o) => [o.name, o.data]));
    assert.deepEqual(data, {
      bool: [true, false, true],
      uint8: [0, 255],
      uint16: [65535],
      uint32: [4294967295],
      uint64: [18446744073709551615n],
      int8: [-128, 127],
      int16: [-32768],
      int32: [-2147483648, 7],
      int64: [-9223372036854775808n],
      fp16: [1.5, -0.0999755859375],
      bf16: [3.140625],
      // float32 values as the doubles they are: they read back as the same float32.
      fp32: [0.5, Math.fround(0.1), -2],
      fp64: [0.1],
      bytes: ['héllo', '"q"'],
    });
    assert.deepEqual(json.outputs[7], { name: 'int32', datatype: 'INT32', shape: [2, 1], data: [-2147483648, 7] });
  });

  it('writes no id when the request had none', () => {
    const body = inferResponseBody(response([output('y', 'FP32', [0], new Float32Array(0))], ''), NO_PARAMETERS);
    assert.equal(
      body.chunks[0].toString(),
      '{"model_name":"m","model_version":"2","outputs":[{"name":"y","datatype":"FP32","shape":[0],"data":[]}]}',
    );
  });

  it("sends binary outputs after the JSON, a numeric one as the output tensor's own bytes", () => {
    const fp32 = output('y', 'FP32', [2], new Float32Array([1, 2]), true);
    const text = output('t', 'BYTES', [2], [Buffer.from('ab'), Buffer.alloc(0)], true);
    const plain = output('z', 'INT32', [1], new Int32Array([5]), false);
    const body = inferResponseBody(response([fp32, plain, text]), NO_PARAMETERS);
    const json = JSON.parse(body.chunks[0].subarray(0, body.jsonLength).toString());
    assert.equal(body.jsonLength, body.chunks[0].length);
    assert.deepEqual(json.outputs, [
      { name: 'y', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } },
      { name: 'z', datatype: 'INT32', shape: [1], data: [5] },
      { name: 't', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 10 } },
    ]);
    assert.equal(body.chunks.length, 3);
    // Not copied: the chunk views the output's ArrayBuffer.
    assert.equal(body.chunks[1].buffer, fp32.tensor.data);
    assert.deepEqual([...new Float32Array(body.chunks[1].buffer, body.chunks[1].byteOffset, 2)], [1, 2]);
    assert.deepEqual(body.chunks[2], Buffer.from([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0]));
    assert.equal(body.length, body.chunks[0].length + 8 + 10);
  });

  it('binary_data_output makes every output binary but one that asks for JSON', () => {
    const parameters = new Map([['binary_data_output', true]]);
    const body = inferResponseBody(
      response([
        output('a', 'UINT8', [1], new Uint8Array([9])),
        output('b', 'UINT8', [1], new Uint8Array([8]), false),
        output('c', 'UINT8', [1], new Uint8Array([7]), true),
      ]),
      parameters,
    );
    const json = JSON.parse(body.chunks[0].toString());
    assert.deepEqual(
      json.outputs.map((o: { name: string; data?: unknown; parameters?: unknown }) => [o.name, o.data ?? o.parameters]),
      [
        ['a', { binary_data_size: 1 }],
        ['b', [8]],
        ['c', { binary_data_size: 1 }],
      ],
    );
    assert.deepEqual(Buffer.concat(body.chunks.slice(1)), Buffer.from([9, 7]));
  });
});
