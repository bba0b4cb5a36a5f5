import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LoadedServable } from '../../src/platforms/platform';
import { classificationResult, ClassificationResultMessage, classify } from '../../src/servables/classifier';
import { DataType } from '../../src/tensors/data_type';
import { hostTensor } from '../server/rest/fakes/fake_servable';
import { caseInput, casesOf, ExampleCase, loadExampleModel, readExampleReference } from './example_models';

/** What TensorFlow computed for a case, shaped as a ClassificationResult. */
function expectedResult({ outputs }: ExampleCase): ClassificationResultMessage {
  const { classes, scores } = outputs;
  const [batch, count] = (classes ?? scores).shape;
  return {
    classifications: Array.from({ length: batch }, (_, example) => ({
      classes: Array.from({ length: count }, (_, c) => {
        const index = example * count + c;
        const entry: { label?: string; score?: number } = {};
        if (classes) entry.label = Buffer.from(classes.values[index] as string, 'base64').toString('utf8');
        if (scores) entry.score = Math.fround(scores.values[index] as number);
        return entry;
      }),
    })),
  };
}

describe('classificationResult (PostProcessClassificationResult)', () => {
  const labels = (...values: string[]) => values.map((v) => Buffer.from(v));
  const outputs = (entries: Record<string, ReturnType<typeof hostTensor>>) => new Map(Object.entries(entries));

  test('pairs labels and scores per example, in order', () => {
    const result = classificationResult(
      2,
      outputs({
        classes: hostTensor(DataType.DT_STRING, [2, 2], labels('a', 'b', 'c', 'd')),
        scores: hostTensor(DataType.DT_FLOAT, [2, 2], Float32Array.of(0.5, 0.25, 1, -2)),
      }),
    );
    assert.deepEqual(result, {
      classifications: [
        {
          classes: [
            { label: 'a', score: 0.5 },
            { label: 'b', score: 0.25 },
          ],
        },
        {
          classes: [
            { label: 'c', score: 1 },
            { label: 'd', score: -2 },
          ],
        },
      ],
    });
  });

  test('leaves out what the signature does not produce', () => {
    const scoresOnly = classificationResult(
      1,
      outputs({ scores: hostTensor(DataType.DT_FLOAT, [1, 2], Float32Array.of(1, 2)) }),
    );
    assert.deepEqual(scoresOnly.classifications, [{ classes: [{ score: 1 }, { score: 2 }] }]);
    const classesOnly = classificationResult(
      1,
      outputs({ classes: hostTensor(DataType.DT_STRING, [1, 1], labels('x')) }),
    );
    assert.deepEqual(classesOnly.classifications, [{ classes: [{ label: 'x' }] }]);
  });

  test("TF-Serving's errors for outputs of the wrong rank, dtype or batch", () => {
    const cases: Array<[Record<string, ReturnType<typeof hostTensor>>, string]> = [
      [
        { scores: hostTensor(DataType.DT_FLOAT, [2], Float32Array.of(1, 2)) },
        'Expected Tensor shape: [batch_size num_classes] but got [2]',
      ],
      [
        { classes: hostTensor(DataType.DT_STRING, [2, 1, 1], labels('a', 'b')) },
        'Expected Tensor shape: [batch_size num_classes] but got [2,1,1]',
      ],
      [
        { scores: hostTensor(DataType.DT_DOUBLE, [2, 1], Float64Array.of(1, 2)) },
        'Expected scores Tensor of DT_FLOAT. Got: DT_DOUBLE',
      ],
      [
        { classes: hostTensor(DataType.DT_FLOAT, [2, 1], Float32Array.of(1, 2)) },
        'Expected classes Tensor of DT_STRING. Got: DT_FLOAT',
      ],
      [
        { scores: hostTensor(DataType.DT_FLOAT, [1, 2], Float32Array.of(1, 2)) },
        'Expected scores output batch size of 2. Got: 1',
      ],
      [
        { classes: hostTensor(DataType.DT_STRING, [3, 1], labels('a', 'b', 'c')) },
        'Expected classes output batch size of 2. Got: 3',
      ],
      [
        {
          classes: hostTensor(DataType.DT_STRING, [2, 1], labels('a', 'b')),
          scores: hostTensor(DataType.DT_FLOAT, [2, 2], Float32Array.of(1, 2, 3, 4)),
        },
        'Tensors class and score should match in dim_size(1). Got 1 vs. 2',
      ],
    ];
    for (const [tensors, message] of cases) {
      assert.throws(() => classificationResult(2, outputs(tensors)), { code: 'INVALID_ARGUMENT', message });
    }
  });
});

describe('classify on real SavedModels', () => {
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

  test('classes and scores equal what TensorFlow computes, with and without a context', async () => {
    for (const [servable, signature, ref] of [
      [() => tf1, 'serving_default', reference.tf1],
      [() => tf1, 'classify_scores_only', reference.tf1],
      [() => tf1, 'classify_classes_only', reference.tf1],
      [() => tf2, 'serving_default', reference.tf2],
    ] as const) {
      for (const testCase of casesOf(ref, signature)) {
        const result = await classify(servable(), { signatureName: signature, input: caseInput(testCase) });
        assert.deepEqual(result, expectedResult(testCase), `${signature} context=${testCase.context !== null}`);
      }
    }
  });

  test('no signature name means serving_default', async () => {
    const [testCase] = casesOf(reference.tf1, 'serving_default');
    assert.deepEqual(await classify(tf1, { input: caseInput(testCase) }), expectedResult(testCase));
  });

  test('a predict-method signature shaped for Classify serves by default, not with the method name check', async () => {
    const [testCase] = casesOf(reference.tf1, 'serving_default');
    const request = { signatureName: 'classify_as_predict', input: caseInput(testCase) };
    assert.deepEqual(await classify(tf1, request), expectedResult(testCase));
    await assert.rejects(classify(tf1, request, { enableSignatureMethodNameCheck: true }), {
      code: 'INVALID_ARGUMENT',
      message:
        'Expected classification signature method_name to be tensorflow/serving/classify. Was: tensorflow/serving/predict',
    });
    const tf2Case = casesOf(reference.tf2, 'serving_default')[0];
    await assert.rejects(classify(tf2, { input: caseInput(tf2Case) }, { enableSignatureMethodNameCheck: true }), {
      message: /method_name to be tensorflow\/serving\/classify\. Was: tensorflow\/serving\/predict$/,
    });
    const classifySignature = await classify(
      tf1,
      { input: caseInput(testCase) },
      { enableSignatureMethodNameCheck: true },
    );
    assert.deepEqual(classifySignature, expectedResult(testCase));
  });

  test("signatures that do not fit Classify get TF-Serving's errors, with the SignatureDef as TensorFlow prints it", async () => {
    const input = caseInput(casesOf(reference.tf1, 'serving_default')[0]);
    const debug = (name: string) => reference.tf1.signatures[name].debug_string;
    const expectations: Array<[string, string]> = [
      ['no_such_signature', 'No signature was found with the name: no_such_signature'],
      ['predict_y', `No classification inputs found in SignatureDef: ${debug('predict_y')}`],
      [
        'regress_x_to_y',
        `Expected classification signature outputs to contain at least one of "classes" or "scores". Signature was: ${debug('regress_x_to_y')}`,
      ],
      ['two_inputs', 'Expected one input Tensor.'],
      ['bad_scores_rank', 'Expected Tensor shape: [batch_size num_classes] but got [3]'],
      ['bad_scores_dtype', 'Expected scores Tensor of DT_FLOAT. Got: DT_DOUBLE'],
      ['bad_classes_dtype', 'Expected classes Tensor of DT_STRING. Got: DT_FLOAT'],
      ['bad_class_count', 'Tensors class and score should match in dim_size(1). Got 2 vs. 3'],
    ];
    for (const [signatureName, message] of expectations) {
      await assert.rejects(
        classify(tf1, { signatureName, input }),
        { code: 'INVALID_ARGUMENT', message },
        signatureName,
      );
    }
  });

  test('an empty Input, and examples the model cannot parse', async () => {
    for (const input of [
      undefined,
      {},
      { example_list: { examples: [] } },
      { example_list_with_context: { examples: [] } },
    ]) {
      await assert.rejects(classify(tf1, { input }), { code: 'INVALID_ARGUMENT', message: 'Input is empty.' });
    }
    // No "x" feature: tf.io.parse_example's own error, as TensorFlow words it.
    await assert.rejects(classify(tf1, { input: { example_list: { examples: [new Uint8Array(0)] } } }), {
      code: 'INVALID_ARGUMENT',
      message: /x/,
    });
  });
});
