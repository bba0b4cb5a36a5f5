import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LoadedServable } from '../../src/platforms/platform';
import { regress, regressionResult } from '../../src/servables/regressor';
import { DataType } from '../../src/tensors/data_type';
import { hostTensor } from '../server/rest/fakes/fake_servable';
import { caseInput, casesOf, ExampleCase, loadExampleModel, readExampleReference } from './example_models';

const expectedValues = ({ outputs }: ExampleCase) => (outputs.outputs.values as number[]).map((value) => ({ value }));

describe('regressionResult (PostProcessRegressionResult)', () => {
  const outputs = (tensor: ReturnType<typeof hostTensor>) => new Map([['outputs', tensor]]);

  test('one value per example, from [batch] or [batch, 1]', () => {
    const values = Float32Array.of(0.5, -3);
    assert.deepEqual(regressionResult(2, outputs(hostTensor(DataType.DT_FLOAT, [2], values))), {
      regressions: [{ value: 0.5 }, { value: -3 }],
    });
    assert.deepEqual(regressionResult(2, outputs(hostTensor(DataType.DT_FLOAT, [2, 1], values))).regressions.length, 2);
  });

  test("TF-Serving's errors for an output of the wrong shape, batch or dtype", () => {
    const cases: Array<[ReturnType<typeof hostTensor>, string]> = [
      [
        hostTensor(DataType.DT_FLOAT, [2, 2], new Float32Array(4)),
        'Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got [2,2]',
      ],
      [
        hostTensor(DataType.DT_FLOAT, [], new Float32Array(1)),
        'Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got []',
      ],
      [
        hostTensor(DataType.DT_FLOAT, [3], new Float32Array(3)),
        'Input batch size did not match output batch size: 2 vs. 3',
      ],
      [hostTensor(DataType.DT_DOUBLE, [2], new Float64Array(2)), 'Expected output Tensor of DT_FLOAT.  Got: DT_DOUBLE'],
    ];
    for (const [tensor, message] of cases) {
      assert.throws(() => regressionResult(2, outputs(tensor)), { code: 'INVALID_ARGUMENT', message });
    }
  });
});

describe('regress on real SavedModels', () => {
  let tf1: LoadedServable;
  let tf2: LoadedServable;
  const reference = { tf1: readExampleReference('examples_tf1'), tf2: readExampleReference('examples_tf2') };

  before(async () => {
    [tf1, tf2] = await Promise.all([loadExampleModel('examples_tf1'), loadExampleModel('examples_tf2')]);
  });
  after(() => {
    tf1.unload();
    tf2.unload();
  });

  test('values equal what TensorFlow computes, with and without a context', async () => {
    for (const [servable, signature, ref] of [
      [() => tf1, 'regress_x_to_y', reference.tf1],
      [() => tf1, 'regress_x_to_y_column', reference.tf1],
      [() => tf1, 'regress_x_plus_n', reference.tf1],
      [() => tf2, 'regress', reference.tf2],
    ] as const) {
      for (const testCase of casesOf(ref, signature)) {
        const result = await regress(servable(), { signatureName: signature, input: caseInput(testCase) });
        assert.deepEqual(
          result.regressions,
          expectedValues(testCase),
          `${signature} context=${testCase.context !== null}`,
        );
      }
    }
  });

  test('the example overrides the context feature by feature (x + n)', async () => {
    // Case 2: context n=10; the second example brings its own n=1.
    const [, withContext] = casesOf(reference.tf1, 'regress_x_plus_n');
    const result = await regress(tf1, { signatureName: 'regress_x_plus_n', input: caseInput(withContext) });
    assert.deepEqual(result.regressions, [{ value: 10.25 }, { value: 5 }]);
  });

  test('the method name check accepts regress signatures and refuses TF2 predict-method ones', async () => {
    const [testCase] = casesOf(reference.tf1, 'regress_x_to_y');
    const checked = { enableSignatureMethodNameCheck: true };
    const result = await regress(tf1, { signatureName: 'regress_x_to_y', input: caseInput(testCase) }, checked);
    assert.deepEqual(result.regressions, expectedValues(testCase));
    await assert.rejects(regress(tf2, { signatureName: 'regress', input: caseInput(testCase) }, checked), {
      code: 'INVALID_ARGUMENT',
      message:
        'Expected regression signature method_name to be tensorflow/serving/regress. Was: tensorflow/serving/predict',
    });
  });

  test("signatures that do not fit Regress get TF-Serving's errors", async () => {
    const input = caseInput(casesOf(reference.tf1, 'regress_x_to_y')[0]);
    const debug = (name: string) => reference.tf1.signatures[name].debug_string;
    const expectations: Array<[string | undefined, string]> = [
      ['no_such_signature', 'No signature was found with the name: no_such_signature'],
      [undefined, 'Expected one output Tensor.'], // serving_default classifies: classes and scores
      ['two_inputs', 'Expected one input Tensor.'],
      ['predict_y', `No regression inputs found in SignatureDef: ${debug('predict_y')}`],
      ['classify_scores_only', `No regression outputs found in SignatureDef: ${debug('classify_scores_only')}`],
      ['bad_regress_dtype', 'Expected output Tensor of DT_FLOAT.  Got: DT_INT64'],
      ['bad_regress_batch', 'Input batch size did not match output batch size: 3 vs. 1'],
      ['bad_regress_shape', 'Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got [3,3]'],
    ];
    for (const [signatureName, message] of expectations) {
      await assert.rejects(
        regress(tf1, { signatureName, input }),
        { code: 'INVALID_ARGUMENT', message },
        signatureName,
      );
    }
    await assert.rejects(regress(tf1, { signatureName: 'regress_x_to_y', input: {} }), { message: 'Input is empty.' });
  });
});
