/**
 * The /v2 infer body read into an InferRequest: JSON data flat or nested, the binary tensor
 * extension's inputs viewing the body (never copied), and every malformed body refused with
 * INVALID_ARGUMENT and a message that names the field, never the body's text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServingError } from '../../../../src/errors/serving_error';
import { readInferRequest } from '../../../../src/server/rest/v2/infer_request_body';

const TARGET = { modelName: 'm', modelVersion: '' };

/** A body of the JSON `header`, then the `binary` pieces; and the header's value. */
function binaryBody(header: unknown, ...binary: Buffer[]): { body: Buffer; length: string } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...binary]), length: String(json.length) };
}

function refused(read: () => unknown, message: RegExp): ServingError {
  let caught: unknown;
  try {
    read();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ServingError, `expected a ServingError, got ${String(caught)}`);
  assert.equal(caught.code, 'INVALID_ARGUMENT');
  assert.match(caught.message, message);
  return caught;
}

describe('readInferRequest', () => {
  it('reads the JSON form: id, parameters, inputs with nested data flattened row-major, requested outputs', () => {
    const body = {
      id: 'req-1',
      parameters: { version_label: 'stable', binary_data_output: true, priority: 2 },
      inputs: [
        {
          name: 'x',
          shape: [2, 2],
          datatype: 'FP32',
          data: [
            [1, 2.5],
            [3, -4],
          ],
          parameters: { p: 'q' },
        },
        { name: 'flags', shape: [3], datatype: 'BOOL', data: [true, false, true] },
        { name: 'text', shape: [1], datatype: 'BYTES', data: ['héllo'] },
        { name: 'big', shape: [1], datatype: 'UINT64', data: [18446744073709551615n] },
      ],
      outputs: [{ name: 'y', parameters: { binary_data: false } }, { name: 'z' }],
    };
    const text = JSON.stringify(body, (_key, value) => (typeof value === 'bigint' ? `#${value}#` : value)).replace(
      /"#(\d+)#"/g,
      '$1',
    );
    const request = readInferRequest(Buffer.from(text), undefined, { modelName: 'm', modelVersion: '3' });
    assert.equal(request.modelName, 'm');
    assert.equal(request.modelVersion, '3');
    assert.equal(request.id, 'req-1');
    assert.deepEqual(
      [...request.parameters],
      [
        ['version_label', 'stable'],
        ['binary_data_output', true],
        ['priority', 2],
      ],
    );
    assert.deepEqual(
      request.inputs.map(({ name, datatype, shape, contents }) => ({ name, datatype, shape, contents })),
      [
        { name: 'x', datatype: 'FP32', shape: [2, 2], contents: { values: [1, 2.5, 3, -4] } },
        { name: 'flags', datatype: 'BOOL', shape: [3], contents: { values: [true, false, true] } },
        { name: 'text', datatype: 'BYTES', shape: [1], contents: { values: ['héllo'] } },
        // Beyond 2^53: kept exact.
        { name: 'big', datatype: 'UINT64', shape: [1], contents: { values: [18446744073709551615n] } },
      ],
    );
    assert.deepEqual([...request.inputs[0].parameters], [['p', 'q']]);
    assert.deepEqual(
      request.outputs.map(({ name, parameters }) => [name, [...parameters]]),
      [
        ['y', [['binary_data', false]]],
        ['z', []],
      ],
    );
  });

  it('defaults: no id is "", no outputs is every output', () => {
    const request = readInferRequest(
      Buffer.from('{"inputs": [{"name": "x", "shape": [0], "datatype": "FP32", "data": []}]}'),
      undefined,
      TARGET,
    );
    assert.equal(request.id, '');
    assert.deepEqual(request.outputs, []);
    assert.deepEqual(request.inputs[0].contents, { values: [] });
  });

  it('takes binary inputs in order as views of the body, mixed with JSON ones', () => {
    const floats = Buffer.from(new Float32Array([1, 2, 3]).buffer);
    // BYTES: each element's 4-byte little-endian length, then its bytes.
    const strings = Buffer.from([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0]);
    const { body, length } = binaryBody(
      {
        inputs: [
          { name: 'a', shape: [3], datatype: 'FP32', parameters: { binary_data_size: floats.length } },
          { name: 'b', shape: [1], datatype: 'INT32', data: [7] },
          { name: 'c', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: strings.length } },
        ],
      },
      floats,
      strings,
    );
    const request = readInferRequest(body, length, TARGET);
    const [a, b, c] = request.inputs.map((input) => input.contents);
    assert.ok('raw' in a && 'raw' in c);
    assert.deepEqual(b, { values: [7] });
    // Views, not copies: the same memory as the body.
    assert.equal(a.raw.buffer, body.buffer);
    assert.equal(a.raw.byteOffset, body.byteOffset + Number(length));
    assert.equal(c.raw.byteOffset, a.raw.byteOffset + floats.length);
    assert.deepEqual(Buffer.from(a.raw), floats);
    assert.deepEqual(Buffer.from(c.raw), strings);
    assert.equal(request.inputs[0].parameters.get('binary_data_size'), floats.length);
  });

  it('a header length equal to the body (no binary data) is a JSON-only request', () => {
    const { body, length } = binaryBody({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] });
    assert.deepEqual(readInferRequest(body, length, TARGET).inputs[0].contents, { values: [1] });
  });

  it('refuses a body that is not a JSON object, without quoting it', () => {
    const secret = 'secret-payload-text';
    const error = refused(
      () => readInferRequest(Buffer.from(`{"inputs": [${secret}]}`), undefined, TARGET),
      /JSON Parse error/,
    );
    assert.doesNotMatch(error.message, new RegExp(secret));
    refused(() => readInferRequest(Buffer.from('[1, 2]'), undefined, TARGET), /must be a JSON object/);
    refused(() => readInferRequest(Buffer.alloc(0), undefined, TARGET), /empty/);
  });

  it('refuses a bad Inference-Header-Content-Length, quoting at most 80 characters of it', () => {
    const { body } = binaryBody({ inputs: [] });
    for (const header of ['-1', 'abc', '1.5', String(body.length + 1), '9'.repeat(40)]) {
      const error = refused(
        () => readInferRequest(body, header, TARGET),
        /Inference-Header-Content-Length .* is not a length within the request body of \d+ bytes/,
      );
      assert.ok(error.message.length < 200);
    }
  });

  it('refuses binary_data_size that does not add up to the binary data', () => {
    const data = Buffer.alloc(12);
    const input = (size: unknown) => ({
      name: 'x',
      shape: [3],
      datatype: 'FP32',
      parameters: { binary_data_size: size },
    });
    const short = binaryBody({ inputs: [input(16)] }, data);
    refused(
      () => readInferRequest(short.body, short.length, TARGET),
      /Input 'x': binary_data_size 16 goes past the end of the request body \(12 bytes of binary data left\)/,
    );
    const long = binaryBody({ inputs: [input(8)] }, data);
    refused(
      () => readInferRequest(long.body, long.length, TARGET),
      /holds 4 bytes of binary data beyond what the inputs' binary_data_size add up to/,
    );
    const extra = binaryBody({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] }, data);
    refused(() => readInferRequest(extra.body, extra.length, TARGET), /holds 12 bytes of binary data beyond/);
    for (const size of [-1, 1.5, 'twelve', true]) {
      const bad = binaryBody({ inputs: [input(size)] }, data);
      refused(() => readInferRequest(bad.body, bad.length, TARGET), /binary_data_size must be a non-negative integer/);
    }
    const noHeader = binaryBody({ inputs: [input(12)] });
    refused(
      () => readInferRequest(noHeader.body, undefined, TARGET),
      /has binary_data_size but the request has no Inference-Header-Content-Length header/,
    );
  });

  it('refuses malformed inputs, outputs and parameters, naming the field', () => {
    const read = (body: unknown) => () => readInferRequest(Buffer.from(JSON.stringify(body)), undefined, TARGET);
    const x = { name: 'x', shape: [1], datatype: 'FP32', data: [1] };
    refused(read({}), /The request has no 'inputs' array/);
    refused(read({ inputs: [1] }), /Input 0 of the request must be a JSON object/);
    refused(read({ inputs: [{ ...x, name: 3 }] }), /Input 0 has no 'name' string/);
    refused(read({ inputs: [{ ...x, datatype: undefined }] }), /Input 'x' has no 'datatype' string/);
    refused(read({ inputs: [{ ...x, shape: undefined }] }), /Input 'x' has no 'shape' array/);
    refused(read({ inputs: [{ ...x, shape: [-1] }] }), /'shape' must be non-negative integers/);
    refused(read({ inputs: [{ ...x, data: undefined }] }), /Input 'x' has no 'data' \(nor binary_data_size\)/);
    refused(read({ inputs: [{ ...x, data: 1 }] }), /Input 'x': 'data' must be an array/);
    refused(read({ inputs: [{ ...x, data: ['1'] }] }), /elements of 'data' of datatype FP32 must be numbers/);
    refused(read({ inputs: [{ ...x, datatype: 'BOOL', data: [1] }] }), /datatype BOOL must be true or false/);
    refused(read({ inputs: [{ ...x, datatype: 'BYTES', data: [1] }] }), /datatype BYTES must be strings/);
    refused(read({ inputs: [{ ...x, data: [[1], null] }] }), /must be numbers/);
    refused(
      read({ inputs: [{ ...x, data: [1], parameters: { binary_data_size: 4 } }] }),
      /has both 'data' and binary_data_size/,
    );
    refused(
      read({ inputs: [{ ...x, parameters: { shared_memory_region: 'r' } }] }),
      /shared memory .* is not supported/,
    );
    refused(read({ inputs: [x], parameters: [] }), /The request: 'parameters' must be a JSON object/);
    refused(read({ inputs: [x], parameters: { a: { b: 1 } } }), /parameter 'a' must be a bool, a number or a string/);
    refused(read({ inputs: [x], id: 5 }), /'id' must be a string/);
    refused(read({ inputs: [x], outputs: {} }), /'outputs' must be an array/);
    refused(read({ inputs: [x], outputs: [{}] }), /Output 0 has no 'name' string/);
    refused(
      read({ inputs: [x], outputs: [{ name: 'y', parameters: { binary_data: 'yes' } }] }),
      /Output 'y': binary_data must be true or false/,
    );
    refused(
      read({ inputs: [x], outputs: [{ name: 'y', parameters: { classification: 2 } }] }),
      /classification extension is not supported/,
    );
    // An unknown datatype's elements are not judged here: OpenInference names the datatype.
    assert.deepEqual(
      readInferRequest(Buffer.from(JSON.stringify({ inputs: [{ ...x, datatype: 'FP8' }] })), undefined, TARGET)
        .inputs[0].contents,
      { values: [1] },
    );
  });

  it('cuts a long name in its messages', () => {
    const name = 'n'.repeat(5000);
    const error = refused(
      () =>
        readInferRequest(
          Buffer.from(JSON.stringify({ inputs: [{ name, shape: [1], datatype: 'FP32' }] })),
          undefined,
          TARGET,
        ),
      /Input 'n{80}\.\.\.' \(5000 characters\) has no 'data'/,
    );
    assert.ok(error.message.length < 200);
  });
});
