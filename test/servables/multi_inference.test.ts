import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LoadedServable } from '../../src/platforms/platform';
import { classify } from '../../src/servables/classifier';
import { InferenceTaskMessage, multiInference } from '../../src/servables/multi_inference';
import { regress } from '../../src/servables/regressor';
import { cancelRuns, monotonicMicros, newCancelFlag } from '../../src/servables/run_deadline';
import { CLASSIFY_METHOD_NAME, PREDICT_METHOD_NAME, REGRESS_METHOD_NAME } from '../../src/servables/signature';
import { caseInput, casesOf, loadExampleModel, readExampleReference } from './example_models';

const task = (signature_name: string, method_name: string, name = 'm'): InferenceTaskMessage => ({
  model_spec: { name, signature_name },
  method_name,
});

describe('multiInference on a real SavedModel', () => {
  let tf1: LoadedServable;
  const reference = readExampleReference('examples_tf1');
  const input = caseInput(casesOf(reference, 'serving_default')[1]); // with a context

  before(async () => {
    tf1 = await loadExampleModel('examples_tf1');
  });
  after(() => tf1.unload());

  test('one result per task, in task order, each as its own API would answer', async () => {
    const results = await multiInference(
      tf1,
      3,
      [
        task('regress_x_to_y', REGRESS_METHOD_NAME),
        task('', CLASSIFY_METHOD_NAME),
        task('regress_x_plus_n', REGRESS_METHOD_NAME),
      ],
      input,
    );
    assert.deepEqual(
      results.map((r) => r.model_spec),
      ['regress_x_to_y', 'serving_default', 'regress_x_plus_n'].map((signature_name) => ({
        name: 'm',
        version: { value: 3 },
        signature_name,
      })),
    );
    assert.deepEqual(results[0].regression_result, await regress(tf1, { signatureName: 'regress_x_to_y', input }));
    assert.deepEqual(results[1].classification_result, await classify(tf1, { input }));
    assert.deepEqual(results[2].regression_result, await regress(tf1, { signatureName: 'regress_x_plus_n', input }));
    assert.equal(results[0].classification_result, undefined);
  });

  test("a task run still queued when the call's deadline passed, or the call was cancelled, never starts", async () => {
    const tasks = [task('regress_x_to_y', REGRESS_METHOD_NAME), task('', CLASSIFY_METHOD_NAME)];
    await assert.rejects(multiInference(tf1, 1, tasks, input, {}, { deadlineUs: monotonicMicros() - 1 }), {
      code: 'DEADLINE_EXCEEDED',
    });
    const cancelled = newCancelFlag();
    cancelRuns(cancelled);
    await assert.rejects(multiInference(tf1, 1, tasks, input, {}, { cancelled }), { code: 'CANCELLED' });
    const waited = await multiInference(
      tf1,
      1,
      tasks,
      input,
      {},
      { deadlineUs: monotonicMicros() + 60e6, cancelled: newCancelFlag() },
    );
    assert.equal(waited.length, 2);
  });

  test('tasks that read different input tensors each get the examples (current TF-Serving)', async () => {
    const results = await multiInference(
      tf1,
      1,
      [task('regress_x_to_y', REGRESS_METHOD_NAME), task('regress_other_input', REGRESS_METHOD_NAME)],
      input,
    );
    assert.deepEqual(results[0].regression_result, await regress(tf1, { signatureName: 'regress_x_to_y', input }));
    assert.deepEqual(results[1].regression_result, await regress(tf1, { signatureName: 'regress_other_input', input }));
  });

  test("TF-Serving's checks, made before anything runs", async () => {
    const expectations: Array<[InferenceTaskMessage[], string, string]> = [
      [
        [task('regress_x_to_y', REGRESS_METHOD_NAME, '')],
        'INVALID_ARGUMENT',
        'Found ModelSpec with an empty model name.',
      ],
      [
        [task('regress_x_to_y', REGRESS_METHOD_NAME), task('serving_default', CLASSIFY_METHOD_NAME, 'other')],
        'INVALID_ARGUMENT',
        'All ModelSpecs in a MultiInferenceRequest must access the same model name.',
      ],
      [
        [task('regress_x_to_y', REGRESS_METHOD_NAME), task('regress_x_to_y', REGRESS_METHOD_NAME)],
        'INVALID_ARGUMENT',
        'Duplicate evaluation of signature: regress_x_to_y',
      ],
      [[task('nope', REGRESS_METHOD_NAME)], 'INVALID_ARGUMENT', 'Requested signature not found in model graph: nope'],
      [
        [task('predict_y', PREDICT_METHOD_NAME)],
        'UNIMPLEMENTED',
        'Unsupported signature method_name: tensorflow/serving/predict',
      ],
      [[task('serving_default', REGRESS_METHOD_NAME)], 'INVALID_ARGUMENT', 'Expected one output Tensor.'],
    ];
    for (const [tasks, code, message] of expectations) {
      await assert.rejects(multiInference(tf1, 1, tasks, input), { code, message }, message);
    }
    await assert.rejects(multiInference(tf1, 1, [task('regress_x_to_y', REGRESS_METHOD_NAME)], {}), {
      code: 'INVALID_ARGUMENT',
      message: 'Input is empty.',
    });
  });

  test('a task whose outputs do not fit fails the request, after the other runs settle', async () => {
    await assert.rejects(
      multiInference(
        tf1,
        1,
        [task('serving_default', CLASSIFY_METHOD_NAME), task('bad_regress_batch', REGRESS_METHOD_NAME)],
        input,
      ),
      { code: 'INVALID_ARGUMENT', message: 'Input batch size did not match output batch size: 2 vs. 1' },
    );
  });
});
