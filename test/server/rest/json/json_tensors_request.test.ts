import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServingError } from '../../../../src/errors/serving_error';
import type { TensorSpec } from '../../../../src/servables/signature';
import { DataType } from '../../../../src/tensors/data_type';
import {
  parsePredictDocument,
  predictInputsFromJson,
  PredictInputs,
} from '../../../../src/server/rest/json/json_tensors_request';

const specs = (entries: Record<string, [number, number[] | null]>) =>
  new Map<string, TensorSpec>(
    Object.entries(entries).map(([alias, [dtype, shape]]) => [alias, { name: `${alias}:0`, dtype, shape }]),
  );

const single = specs({ x: [DataType.DT_FLOAT, [-1, 2]] });
const several = specs({ tag: [DataType.DT_STRING, [-1]], signal: [DataType.DT_INT32, [-1, 3]] });

function read(body: string, inputSpecs = single): PredictInputs {
  return predictInputsFromJson(parsePredictDocument(body), inputSpecs);
}

function messageOf(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof ServingError, String(error));
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return error.message;
  }
  assert.fail('no error');
}

describe('predict request JSON', () => {
  it('reads the signature name', () => {
    assert.deepEqual(parsePredictDocument('{"signature_name": "s", "inputs": 1}').signatureName, 's');
    assert.deepEqual(parsePredictDocument('{"inputs": 1}').signatureName, '');
  });

  it('row format with one input: instances are values/lists, batched', () => {
    const { format, inputs } = read('{"instances": [[1, 2], [3, 4], [5, 6]]}');
    assert.equal(format, 'row');
    assert.deepEqual(inputs.get('x'), {
      dtype: DataType.DT_FLOAT,
      shape: [3, 2],
      data: new Float32Array([1, 2, 3, 4, 5, 6]),
    });
  });

  it('row format with one input given as objects', () => {
    const { inputs } = read('{"instances": [{"x": [1, 2]}, {"x": [3, 4]}]}');
    assert.deepEqual(inputs.get('x')!.shape, [2, 2]);
  });

  it('row format with several inputs: objects of named values, b64 included', () => {
    const { format, inputs } = read(
      '{"instances": [{"tag": "foo", "signal": [1, 2, 3]}, {"tag": {"b64": "YmFy"}, "signal": [4, 5, 6]}]}',
      several,
    );
    assert.equal(format, 'row');
    assert.deepEqual(inputs.get('tag'), {
      dtype: DataType.DT_STRING,
      shape: [2],
      strings: [Buffer.from('foo'), Buffer.from('bar')],
    });
    assert.deepEqual(inputs.get('signal'), {
      dtype: DataType.DT_INT32,
      shape: [2, 3],
      data: new Int32Array([1, 2, 3, 4, 5, 6]),
    });
  });

  it('row format: scalar b64 instances for a single string input', () => {
    const { inputs } = read(
      '{"instances": [{"b64": "YQ=="}, {"b64": "Yg=="}]}',
      specs({ s: [DataType.DT_STRING, [-1]] }),
    );
    assert.deepEqual(inputs.get('s'), {
      dtype: DataType.DT_STRING,
      shape: [2],
      strings: [Buffer.from('a'), Buffer.from('b')],
    });
  });

  it('columnar format: a bare tensor for one input, an object for several', () => {
    const bare = read('{"inputs": [[1, 2]]}');
    assert.equal(bare.format, 'columnar');
    assert.deepEqual(bare.inputs.get('x')!.shape, [1, 2]);
    const named = read('{"inputs": {"tag": ["a"], "signal": [[1, 2, 3], [4, 5, 6]], "ignored": 1}}', several);
    assert.deepEqual(named.inputs.get('tag')!.shape, [1]);
    assert.deepEqual(named.inputs.get('signal')!.shape, [2, 3]);
    assert.deepEqual([...named.inputs.keys()], ['tag', 'signal']);
  });

  it('model without dtypes: numbers become float, strings string', () => {
    const { inputs } = read('{"instances": [{"a": 1, "b": "x"}]}', specs({ a: [0, null], b: [0, null] }));
    assert.equal(inputs.get('a')!.dtype, DataType.DT_FLOAT);
    assert.equal(inputs.get('b')!.dtype, DataType.DT_STRING);
  });
});

describe('predict request JSON errors (TF-Serving messages)', () => {
  const cases: Array<[string, string, string, Map<string, TensorSpec>?]> = [
    ['bad JSON', '{"instances": [1,}', 'JSON Parse error: Invalid value. at offset: 17'],
    ['empty body', '', 'JSON Parse error: The document is empty'],
    ['not an object', '[1]', 'JSON Value: [\n    1\n] Is not object'],
    [
      'signature not a string',
      '{"signature_name": 1}',
      'JSON Value: {\n    "signature_name": 1\n} not formatted correctly. \'signature_name\' key must be a string value.',
    ],
    ['neither key', '{"foo": 1}', "Missing 'inputs' or 'instances' key"],
    [
      'both keys',
      '{"inputs": 1, "instances": [1]}',
      'JSON Value: {\n    "inputs": 1,\n    "instances": [\n        1\n    ]\n} Not formatted correctly expecting only one of \'inputs\' or \'instances\' keys to exist ',
    ],
    [
      'instances not a list',
      '{"instances": 1}',
      'JSON Value: {\n    "instances": 1\n} Excepting \'instances\' to be an list/array',
    ],
    ['no instances', '{"instances": []}', 'JSON Value: {\n    "instances": []\n} No values in \'instances\' array'],
    [
      'ragged rows',
      '{"instances": [[1, 2], [3]]}',
      "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 2 but got: 1",
    ],
    [
      'ragged inside a row',
      '{"instances": [[[1, 2], [3]]]}',
      "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: Encountered list at unexpected size: 1 at level: 1 expected size: 2",
    ],
    [
      'rows of another shape',
      '{"instances": [[1, 2], [[3, 4]]]}',
      "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [2] but got: [1,2]",
    ],
    [
      'wrong type in a row',
      '{"instances": [["a", 2]]}',
      'Failed to process element: 0 of \'instances\' list. Error: INVALID_ARGUMENT: JSON Value: "a" Type: String is not of expected type: float',
    ],
    [
      'plain list for several inputs',
      '{"instances": [1]}',
      'instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map',
      several,
    ],
    [
      'object after values',
      '{"instances": [[1, 2], {"x": [1, 2]}]}',
      'Expecting value/list but got object at item 1 of input list',
    ],
    [
      'list after objects',
      '{"instances": [{"x": [1, 2]}, [1, 2]]}',
      'Expecting object but got list at item 1 of input list',
    ],
    [
      'unknown input in a row',
      '{"instances": [{"tag": "a", "signal": [1, 2, 3], "zz": 1}]}',
      "Failed to process element: 0 key: zz of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have named input: zz",
      several,
    ],
    [
      'missing input in a row',
      '{"instances": [{"tag": "a"}]}',
      'Failed to process element: 0 of \'instances\' list. JSON object: {\n    "tag": "a"\n} keys must be equal to: signal,tag',
      several,
    ],
    [
      'missing input in columns',
      '{"inputs": {"tag": ["a"]}}',
      "Missing named input: signal in 'inputs' object.",
      several,
    ],
    [
      'plain value for several inputs',
      '{"inputs": [1]}',
      'inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map',
      several,
    ],
    ['no inputs in the signature', '{"inputs": [1]}', 'Failed to get input map for signature: DEFAULT', new Map()],
    // 254 levels are TensorFlow's most dims; batching instances adds one (past it, TensorFlow aborts).
    [
      'instances nesting 254 deep',
      `{"instances": [${'['.repeat(254)}1${']'.repeat(254)}]}`,
      "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: JSON value nests deeper than 253 levels; the maximum tensor rank is 254",
      specs({ x: [DataType.DT_FLOAT, null] }),
    ],
    [
      'inputs nesting 255 deep',
      `{"inputs": ${'['.repeat(255)}1${']'.repeat(255)}}`,
      'JSON value nests deeper than 254 levels; the maximum tensor rank is 254',
      specs({ x: [DataType.DT_FLOAT, null] }),
    ],
  ];
  for (const [name, body, message, inputSpecs] of cases) {
    it(name, () =>
      assert.equal(
        messageOf(() => read(body, inputSpecs ?? single)),
        message,
      ),
    );
  }
});
