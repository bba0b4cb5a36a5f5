import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ServingError } from '../../../src/errors/serving_error';
import {
  buildPyTorchSignatures,
  PyTorchDescription,
  unlistedOutputsWarning,
} from '../../../src/platforms/pytorch/signatures';
import { DataType } from '../../../src/tensors/data_type';

const twoInputs: PyTorchDescription = {
  format: 'torchscript',
  inputs: [
    { name: 'x', type: 'Tensor', optional: false },
    { name: 'mask', type: 'Optional[Tensor]', optional: true },
  ],
  outputs: { type: 'Tuple[Tensor, Tensor]', names: ['output_0', 'output_1'] },
};
const computedKeys: PyTorchDescription = {
  ...twoInputs,
  outputs: { type: 'Dict[str, Tensor]', names: null, unknown_because: 'a key of the returned dict is computed' },
};

function signatureOf(description: PyTorchDescription, file?: unknown) {
  const signatures = buildPyTorchSignatures(description, file);
  assert.deepEqual([...signatures.keys()], ['serving_default']);
  return signatures.get('serving_default')!;
}

function assertInvalid(file: unknown, message: RegExp, description = twoInputs): void {
  assert.throws(
    () => buildPyTorchSignatures(description, file),
    (error: unknown) =>
      error instanceof ServingError && error.code === 'INVALID_ARGUMENT' && message.test(error.message),
  );
}

describe('PyTorch signatures', () => {
  it('lists forward() arguments and positional outputs by default, typed as unknown', () => {
    const signature = signatureOf(twoInputs);
    assert.equal(signature.methodName, 'tensorflow/serving/predict');
    assert.deepEqual(
      [...signature.inputs],
      [
        ['x', { name: 'x', dtype: 0, shape: null }],
        ['mask', { name: 'mask', dtype: 0, shape: null }],
      ],
    );
    assert.deepEqual([...signature.outputs.keys()], ['output_0', 'output_1']);
    assert.deepEqual(signature.outputs.get('output_1'), { name: 'output_1', dtype: 0, shape: null });
  });

  it('lists the output names the addon read from forward(), and none where only a run can tell', () => {
    const dict = signatureOf({ ...twoInputs, outputs: { type: 'Dict[str, Tensor]', names: ['scores', 'labels'] } });
    assert.deepEqual(
      [...dict.outputs],
      [
        ['scores', { name: 'scores', dtype: 0, shape: null }],
        ['labels', { name: 'labels', dtype: 0, shape: null }],
      ],
    );
    assert.equal(signatureOf(computedKeys).outputs.size, 0);
  });

  it('warns at load where no outputs are listed because only a run can tell their names', () => {
    const warning = unlistedOutputsWarning(computedKeys, buildPyTorchSignatures(computedKeys));
    assert.match(
      warning ?? '',
      /forward\(\) returns Dict\[str, Tensor\] whose output names only a run can tell: a key of the returned dict is computed\. /,
    );
    assert.match(warning ?? '', /GetModelMetadata lists no outputs .*name them in signature\.json/);
    const named = buildPyTorchSignatures(computedKeys, { outputs: { head_0: {} } });
    assert.equal(unlistedOutputsWarning(computedKeys, named), undefined);
    assert.equal(unlistedOutputsWarning(twoInputs, buildPyTorchSignatures(twoInputs)), undefined);
  });

  it('applies signature.json aliases, dtypes and shapes', () => {
    const signature = signatureOf(twoInputs, {
      inputs: { features: { name: 'x', dtype: 'DT_FLOAT', shape: [-1, 4] } },
      outputs: { scores: { name: 'output_1', dtype: 'DT_INT64' }, output_0: {} },
    });
    assert.deepEqual([...signature.inputs], [['features', { name: 'x', dtype: DataType.DT_FLOAT, shape: [-1, 4] }]]);
    assert.deepEqual(
      [...signature.outputs],
      [
        ['scores', { name: 'output_1', dtype: DataType.DT_INT64, shape: null }],
        ['output_0', { name: 'output_0', dtype: 0, shape: null }],
      ],
    );
  });

  it('keeps the default section that signature.json leaves out', () => {
    const signature = signatureOf(twoInputs, { outputs: { first: { name: 'output_0' } } });
    assert.deepEqual([...signature.inputs.keys()], ['x', 'mask']);
    assert.deepEqual([...signature.outputs.keys()], ['first']);
  });

  it('accepts any output name where only a run can tell the names', () => {
    const signature = signatureOf(computedKeys, { outputs: { probabilities: { dtype: 'DT_FLOAT', shape: [-1, 5] } } });
    assert.deepEqual(signature.outputs.get('probabilities'), { name: 'probabilities', dtype: 1, shape: [-1, 5] });
  });

  it('checks signature.json output names against dict keys known before a run', () => {
    const dict = { ...twoInputs, outputs: { type: 'Dict[str, Tensor]', names: ['scores', 'labels'] } };
    assertInvalid(
      { outputs: { y: { name: 'logits' } } },
      /"y" names "logits", which the model does not return \(it returns: scores, labels\)/,
      dict,
    );
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
