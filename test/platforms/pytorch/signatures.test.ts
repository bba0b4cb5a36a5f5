import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ServingError } from '../../../src/errors/serving_error';
import { buildPyTorchSignatures, PyTorchDescription } from '../../../src/platforms/pytorch/signatures';
import { DataType } from '../../../src/tensors/data_type';

const twoInputs: PyTorchDescription = {
  format: 'torchscript',
  inputs: [
    { name: 'x', type: 'Tensor', optional: false },
    { name: 'mask', type: 'Optional[Tensor]', optional: true },
  ],
  outputs: { kind: 'tuple', count: 2 },
};

function signatureOf(description: PyTorchDescription, file?: unknown) {
  const signatures = buildPyTorchSignatures(description, file);
  assert.deepEqual([...signatures.keys()], ['serving_default']);
  return signatures.get('serving_default')!;
}

function assertInvalid(file: unknown, message: RegExp, description = twoInputs): void {
  assert.throws(
    () => buildPyTorchSignatures(description, file),
    (error: unknown) => error instanceof ServingError && error.code === 'INVALID_ARGUMENT' && message.test(error.message),
  );
}

describe('PyTorch signatures', () => {
  it('lists forward() arguments and positional outputs by default, typed as unknown', () => {
    const signature = signatureOf(twoInputs);
    assert.equal(signature.methodName, 'tensorflow/serving/predict');
    assert.deepEqual([...signature.inputs], [
      ['x', { name: 'x', dtype: 0, shape: null }],
      ['mask', { name: 'mask', dtype: 0, shape: null }],
    ]);
    assert.deepEqual([...signature.outputs.keys()], ['output_0', 'output_1']);
    assert.deepEqual(signature.outputs.get('output_1'), { name: 'output_1', dtype: 0, shape: null });
  });

  it('lists one output for a Tensor and none for a dict or anything else', () => {
    const single = signatureOf({ ...twoInputs, outputs: { kind: 'tensor', count: 1 } });
    assert.deepEqual([...single.outputs.keys()], ['output_0']);
    assert.equal(signatureOf({ ...twoInputs, outputs: { kind: 'dict', count: 0 } }).outputs.size, 0);
    assert.equal(signatureOf({ ...twoInputs, outputs: { kind: 'other', count: 0 } }).outputs.size, 0);
  });

  it('applies signature.json aliases, dtypes and shapes', () => {
    const signature = signatureOf(twoInputs, {
      inputs: { features: { name: 'x', dtype: 'DT_FLOAT', shape: [-1, 4] } },
      outputs: { scores: { name: 'output_1', dtype: 'DT_INT64' }, output_0: {} },
    });
    assert.deepEqual([...signature.inputs], [['features', { name: 'x', dtype: DataType.DT_FLOAT, shape: [-1, 4] }]]);
    assert.deepEqual([...signature.outputs], [
      ['scores', { name: 'output_1', dtype: DataType.DT_INT64, shape: null }],
      ['output_0', { name: 'output_0', dtype: 0, shape: null }],
    ]);
  });

  it('keeps the default section that signature.json leaves out', () => {
    const signature = signatureOf(twoInputs, { outputs: { first: { name: 'output_0' } } });
    assert.deepEqual([...signature.inputs.keys()], ['x', 'mask']);
    assert.deepEqual([...signature.outputs.keys()], ['first']);
  });

  it('accepts any output name for a dict return (keys are known only at run time)', () => {
    const dict = { ...twoInputs, outputs: { kind: 'dict' as const, count: 0 } };
    const signature = signatureOf(dict, { outputs: { probabilities: { dtype: 'DT_FLOAT', shape: [-1, 5] } } });
    assert.deepEqual(signature.outputs.get('probabilities'), { name: 'probabilities', dtype: 1, shape: [-1, 5] });
  });

  it('rejects a bad signature.json with a clear message', () => {
    assertInvalid({ inputs: { x: { dtype: 'DT_FLOAT32' } } }, /unknown dtype "DT_FLOAT32"/);
    assertInvalid({ inputs: { x: { dtype: 'DT_STRING' } } }, /DT_STRING tensors are not supported/);
    assertInvalid({ inputs: { x: {}, z: {} } }, /"z" names "z", which is not a forward\(\) argument/);
    assertInvalid({ inputs: { mask: {} } }, /argument "x" is required but not listed/);
    assertInvalid({ inputs: { a: { name: 'x' }, b: { name: 'x' } } }, /"a" and "b" both feed/);
    assertInvalid({ inputs: { x: { shape: [2, -2] } } }, /"shape" must be a list/);
    assertInvalid({ inputs: { x: { dims: [2] } } }, /unknown key "dims"/);
    assertInvalid({ signatures: {} }, /unknown key "signatures"/);
    assertInvalid([], /must be a JSON object/);
    assertInvalid({ outputs: { y: { name: 'output_2' } } }, /does not return \(it returns: output_0, output_1\)/);
  });
});
