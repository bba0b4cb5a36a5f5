import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServingError } from '../../../../src/errors/serving_error';
import type { HostTensorHandle, HostTensorOutput } from '../../../../src/native/backend_addon';
import { DataType } from '../../../../src/tensors/data_type';
import { parseJsonText } from '../../../../src/tensors/json_parse';
import {
  inferDataType,
  InstanceBatch,
  JsonTensor,
  tensorFromJson,
} from '../../../../src/server/rest/json/json_tensors';
import { predictResponseJson } from '../../../../src/server/rest/json/json_tensors_response';
import type { JsonValue } from '../../../../src/server/rest/json/json_value';

function asHostOutput(tensor: JsonTensor): HostTensorOutput {
  const handle = {} as HostTensorHandle;
  if ('strings' in tensor)
    return { dtype: tensor.dtype, shape: tensor.shape, strings: tensor.strings.map((s) => Buffer.from(s)), handle };
  const view = tensor.data;
  const data = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer;
  return { dtype: tensor.dtype, shape: tensor.shape, data, handle };
}

/** JSON -> tensor -> columnar response JSON -> value. */
function roundTrip(dtype: number, json: string, alias = 'out'): JsonValue {
  const tensor = tensorFromJson(parseJsonText(json), dtype);
  const response = parseJsonText(predictResponseJson(new Map([[alias, asHostOutput(tensor)]]), 'columnar'));
  return (response as { outputs: JsonValue }).outputs;
}

function errorOf(work: () => unknown): ServingError {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof ServingError, String(error));
    return error;
  }
  assert.fail('no error');
}

describe('JSON <-> tensors, every dtype (columnar round trip)', () => {
  const cases: Array<[string, number, string, JsonValue]> = [
    [
      'float',
      DataType.DT_FLOAT,
      '[[0.5, -2], [NaN, Infinity]]',
      [
        [0.5, -2],
        [NaN, Infinity],
      ],
    ],
    ['double', DataType.DT_DOUBLE, '[0.1, 1e300, -Infinity]', [0.1, 1e300, -Infinity]],
    ['half', DataType.DT_HALF, '[1.5, -2, 0.25, 65504]', [1.5, -2, 0.25, 65504]],
    ['bfloat16', DataType.DT_BFLOAT16, '[1.5, -2, 3.140625]', [1.5, -2, 3.140625]],
    ['int8', DataType.DT_INT8, '[-128, 127]', [-128, 127]],
    ['uint8', DataType.DT_UINT8, '[0, 255]', [0, 255]],
    ['int16', DataType.DT_INT16, '[-32768, 32767]', [-32768, 32767]],
    ['uint16', DataType.DT_UINT16, '[0, 65535]', [0, 65535]],
    ['int32', DataType.DT_INT32, '[-2147483648, 2147483647]', [-2147483648, 2147483647]],
    ['uint32', DataType.DT_UINT32, '[0, 4294967295]', [0, 4294967295]],
    [
      'int64',
      DataType.DT_INT64,
      '[-9223372036854775808, 9223372036854775807, 5]',
      [-9223372036854775808n, 9223372036854775807n, 5],
    ],
    ['uint64', DataType.DT_UINT64, '[18446744073709551615, 0]', [18446744073709551615n, 0]],
    ['bool', DataType.DT_BOOL, '[[true], [false]]', [[true], [false]]],
    ['string', DataType.DT_STRING, '["a", "\\u00e9t\\u00e9", {"b64": "AAH/"}]', ['a', 'été', '\u0000\u0001\ufffd']],
    [
      'complex64',
      DataType.DT_COMPLEX64,
      '[[1, 2], [-0.5, 3]]',
      [
        [1, 2],
        [-0.5, 3],
      ],
    ],
    ['complex128', DataType.DT_COMPLEX128, '[[[0.1, -0.2]]]', [[[0.1, -0.2]]]],
    ['scalar float', DataType.DT_FLOAT, '7', 7],
    ['empty float', DataType.DT_FLOAT, '[]', []],
  ];
  for (const [name, dtype, json, expected] of cases) {
    it(name, () => assert.deepEqual(roundTrip(dtype, json), expected));
  }

  it('builds the typed array and shape the addons take', () => {
    assert.deepEqual(
      tensorFromJson(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        DataType.DT_FLOAT,
      ),
      {
        dtype: DataType.DT_FLOAT,
        shape: [2, 3],
        data: new Float32Array([1, 2, 3, 4, 5, 6]),
      },
    );
    assert.deepEqual(tensorFromJson([3, -1], DataType.DT_INT64), {
      dtype: DataType.DT_INT64,
      shape: [2],
      data: new BigInt64Array([3n, -1n]),
    });
    assert.deepEqual(tensorFromJson([true, false], DataType.DT_BOOL), {
      dtype: DataType.DT_BOOL,
      shape: [2],
      data: new Uint8Array([1, 0]),
    });
    assert.deepEqual(tensorFromJson([1], DataType.DT_HALF), {
      dtype: DataType.DT_HALF,
      shape: [1],
      data: new Uint16Array([0x3c00]),
    });
    assert.deepEqual(tensorFromJson([[1, 2]], DataType.DT_COMPLEX64), {
      dtype: DataType.DT_COMPLEX64,
      shape: [1],
      data: new Float32Array([1, 2]),
    });
    assert.deepEqual(tensorFromJson(['hi', { b64: 'aGk=' }], DataType.DT_STRING), {
      dtype: DataType.DT_STRING,
      shape: [2],
      strings: [Buffer.from('hi'), Buffer.from('hi')],
    });
  });

  it('writes binary strings as {"b64": ...} when the alias ends in _bytes', () => {
    assert.deepEqual(roundTrip(DataType.DT_STRING, '[{"b64": "AAH/"}, "x"]', 'image_bytes'), [
      { b64: 'AAH/' },
      { b64: 'eA==' },
    ]);
  });

  it('infers the dtype when the model does not say (DT_INVALID)', () => {
    assert.equal(inferDataType([[1.5]]), DataType.DT_FLOAT);
    assert.equal(inferDataType([true]), DataType.DT_BOOL);
    assert.equal(inferDataType(['a']), DataType.DT_STRING);
    assert.equal(inferDataType([{ b64: '' }]), DataType.DT_STRING);
    assert.equal(inferDataType([]), DataType.DT_FLOAT);
    assert.equal(tensorFromJson([1, 2], DataType.DT_INVALID).dtype, DataType.DT_FLOAT);
    assert.equal(tensorFromJson(['a'], DataType.DT_INVALID).dtype, DataType.DT_STRING);
  });

  it('batches instances along a new dimension 0', () => {
    const batch = new InstanceBatch(DataType.DT_INT32, 2);
    batch.add([[1, 2]]);
    batch.add([[3, 4]]);
    assert.deepEqual(batch.tensor(), {
      dtype: DataType.DT_INT32,
      shape: [2, 1, 2],
      data: new Int32Array([1, 2, 3, 4]),
    });
  });
});

describe('JSON -> tensor errors (TF-Serving messages)', () => {
  const cases: Array<[string, number, JsonValue, string]> = [
    [
      'ragged list',
      DataType.DT_FLOAT,
      [[1, 2], [3]],
      'Encountered list at unexpected size: 1 at level: 1 expected size: 2',
    ],
    [
      'scalar too high',
      DataType.DT_FLOAT,
      [[1, 2], 3],
      'JSON Value: 3 found at incorrect level: 2 in the JSON DOM. Expected at level: 2',
    ],
    [
      'list too deep',
      DataType.DT_FLOAT,
      [
        [1, 2],
        [3, [4]],
      ],
      'Encountered list at unexpected level: 2 expected < 2',
    ],
    ['string for float', DataType.DT_FLOAT, ['abc'], 'JSON Value: "abc" Type: String is not of expected type: float'],
    ['decimal for int32', DataType.DT_INT32, [1.5], 'JSON Value: 1.5 Type: Number is not of expected type: int32'],
    ['out of range uint8', DataType.DT_UINT8, [256], 'JSON Value: 256 Type: Number is not of expected type: uint8'],
    ['negative uint64', DataType.DT_UINT64, [-1], 'JSON Value: -1 Type: Number is not of expected type: uint64'],
    [
      'too big int64',
      DataType.DT_INT64,
      [9223372036854775808n],
      'JSON Value: 9223372036854775808 Type: Number is not of expected type: int64',
    ],
    ['number for bool', DataType.DT_BOOL, [1], 'JSON Value: 1 Type: Number is not of expected type: bool'],
    ['null for string', DataType.DT_STRING, [null], 'JSON Value: null Type: Null is not of expected type: string'],
    [
      'object for float',
      DataType.DT_FLOAT,
      [{ b64: 'AA==' }],
      'JSON Value: {\n    "b64": "AA=="\n} Type: Object is not of expected type: float',
    ],
    ['bad base64', DataType.DT_STRING, [{ b64: 'a!==' }], 'Unable to base64 decode'],
    [
      'not a b64 object',
      DataType.DT_STRING,
      [{ b64: 'AA==', x: 1 }],
      'JSON Value: {\n    "b64": "AA==",\n    "x": 1\n} not formatted correctly for base64 data',
    ],
    [
      'complex not in pairs',
      DataType.DT_COMPLEX64,
      [1, 2, 3],
      'JSON Value: [\n    1,\n    2,\n    3\n] is not of expected type: complex64 (complex values are [real, imaginary] pairs)',
    ],
  ];
  for (const [name, dtype, value, message] of cases) {
    it(name, () => {
      const error = errorOf(() => tensorFromJson(value, dtype));
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.equal(error.message, message);
    });
  }

  it('unsupported dtypes are UNIMPLEMENTED', () => {
    const error = errorOf(() => tensorFromJson([1], 20 /* DT_RESOURCE */));
    assert.equal(error.code, 'UNIMPLEMENTED');
  });

  it('base64 accepts missing padding and whitespace, as absl does', () => {
    assert.deepEqual(tensorFromJson([{ b64: 'aGk' }, { b64: 'aG\nk=' }], DataType.DT_STRING), {
      dtype: DataType.DT_STRING,
      shape: [2],
      strings: [Buffer.from('hi'), Buffer.from('hi')],
    });
  });

  it('instances of different sizes or shapes', () => {
    const sizes = new InstanceBatch(DataType.DT_FLOAT, 2);
    sizes.add([1, 2]);
    assert.equal(errorOf(() => sizes.add([3])).message, 'Expecting tensor size: 2 but got: 1');
    const shapes = new InstanceBatch(DataType.DT_FLOAT, 2);
    shapes.add([1, 2]);
    assert.equal(errorOf(() => shapes.add([[3, 4]])).message, 'Expecting shape [2] but got: [1,2]');
  });
});
