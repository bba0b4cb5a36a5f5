import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServingError } from '../../../../src/errors/serving_error';
import type { HostTensorHandle, HostTensorOutput, NativeOutput } from '../../../../src/native/backend_addon';
import { DataType } from '../../../../src/tensors/data_type';
import { errorJson, predictResponseJson } from '../../../../src/server/rest/json/json_tensors_response';

const handle = {} as HostTensorHandle;
const floats = (shape: number[], values: number[]): HostTensorOutput => ({
  dtype: DataType.DT_FLOAT,
  shape,
  data: new Float32Array(values).buffer,
  handle,
});
const outputs = (entries: Record<string, NativeOutput>) => new Map(Object.entries(entries));

describe('predict response JSON (rapidjson PrettyWriter layout)', () => {
  it('row format, one output: a plain list on one line', () => {
    assert.equal(
      predictResponseJson(outputs({ y: floats([3], [2.5, 3, 4.5]) }), 'row'),
      '{\n    "predictions": [2.5, 3.0, 4.5\n    ]\n}',
    );
  });

  it('row format, several outputs: one object per instance', () => {
    const text = predictResponseJson(outputs({ a: floats([2, 2], [1, 2, 3, 4]), b: floats([2], [5, 6]) }), 'row');
    assert.equal(
      text,
      [
        '{',
        '    "predictions": [',
        '        {',
        '            "a": [1.0, 2.0],',
        '            "b": 5.0',
        '        },',
        '        {',
        '            "a": [3.0, 4.0],',
        '            "b": 6.0',
        '        }',
        '    ]',
        '}',
      ].join('\n'),
    );
  });

  it('columnar format, one output: the whole tensor', () => {
    assert.equal(
      predictResponseJson(outputs({ y: floats([2, 1], [1, 2]) }), 'columnar'),
      '{\n    "outputs": [\n        [\n            1.0\n        ],\n        [\n            2.0\n        ]\n    ]\n}',
    );
  });

  it('columnar format, several outputs: an object; scalars allowed', () => {
    const text = predictResponseJson(outputs({ a: floats([], [1]), b: floats([1], [NaN]) }), 'columnar');
    assert.equal(text, '{\n    "outputs": {\n        "a": 1.0,\n        "b": [\n            NaN\n        ]\n    }\n}');
  });

  it('int64 as plain numbers; strings as text or b64 by alias', () => {
    const ints: HostTensorOutput = {
      dtype: DataType.DT_INT64,
      shape: [2],
      data: new BigInt64Array([9007199254740993n, -1n]).buffer,
      handle,
    };
    const text: HostTensorOutput = {
      dtype: DataType.DT_STRING,
      shape: [2],
      strings: [Buffer.from('a"b'), Buffer.from('\u0001')],
      handle,
    };
    const bytes: HostTensorOutput = {
      dtype: DataType.DT_STRING,
      shape: [2],
      strings: [Buffer.from([0xff]), Buffer.from('')],
      handle,
    };
    assert.equal(
      predictResponseJson(outputs({ n: ints }), 'row'),
      '{\n    "predictions": [9007199254740993, -1\n    ]\n}',
    );
    assert.equal(
      predictResponseJson(outputs({ s: text }), 'row'),
      '{\n    "predictions": ["a\\"b", "\\u0001"\n    ]\n}',
    );
    assert.equal(
      predictResponseJson(outputs({ s_bytes: bytes }), 'row'),
      '{\n    "predictions": [{\n            "b64": "/w=="\n        }, {\n            "b64": ""\n        }\n    ]\n}',
    );
  });

  it('rejects outputs that cannot be split into instances', () => {
    const messageOf = (work: () => unknown) => {
      try {
        work();
      } catch (error) {
        assert.ok(error instanceof ServingError);
        return error.message;
      }
      assert.fail('no error');
    };
    assert.equal(
      messageOf(() => predictResponseJson(outputs({ s: floats([], [1]) }), 'row')),
      'Tensor name: s has no shape information ',
    );
    assert.equal(
      messageOf(() => predictResponseJson(outputs({ a: floats([2], [1, 2]), b: floats([3], [1, 2, 3]) }), 'row')),
      'Tensor name: b has inconsistent batch size: 3 expecting: 2',
    );
    assert.equal(
      messageOf(() => predictResponseJson(new Map(), 'row')),
      'Cannot convert empty tensor map to JSON',
    );
  });

  it('errors are {"error": message}', () => {
    assert.equal(errorJson('bad "x"'), '{\n    "error": "bad \\"x\\""\n}');
  });
});
