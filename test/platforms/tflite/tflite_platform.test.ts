/**
 * The TFLite addon and --prefer_tflite_model, on models tf.lite.TFLiteConverter made
 * (test/fixtures/export_tflite_fixtures.py): signatures and outputs are checked against what
 * tf.lite.Interpreter reports for the same file.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { ServingError } from '../../../src/errors/serving_error';
import {
  loadBackendAddon,
  loadTensorCodec,
  type ModelHandle,
  type TensorSource,
} from '../../../src/native/backend_addon';
import type { PlatformOptions } from '../../../src/platforms/platform';
import { tensorFlowPlatform } from '../../../src/platforms/tensorflow/tensorflow_platform';
import { loadTfLiteModel, preferTfLite } from '../../../src/platforms/tflite/tflite_platform';
import { PREDICT_METHOD_NAME } from '../../../src/servables/signature';
import { DataType } from '../../../src/tensors/data_type';
import { Reference, REPO_ROOT } from '../tensorflow/fixtures';
import { assertTensorMatches, fieldsSource, plainOutput } from '../tensorflow/tensors';
import { predict } from '../../../src/servables/predictor';

const FIXTURES = path.join(REPO_ROOT, 'var', 'models', 'test', 'tflite');
const MODELS = ['half_plus_two', 'half_plus_two_v1', 'half_plus_two_both', 'two_signatures'] as const;

/** Exported by setup (scripts/export_models.py); exported here on first use otherwise. */
function fixtures(): string {
  if (!MODELS.every((model) => fs.existsSync(path.join(FIXTURES, model, 'reference.json')))) {
    execFileSync(
      path.join(REPO_ROOT, '.venv', 'bin', 'python'),
      [path.join(REPO_ROOT, 'test', 'fixtures', 'export_tflite_fixtures.py'), FIXTURES],
      { stdio: 'inherit' },
    );
  }
  return FIXTURES;
}
const versionDir = (model: string) => path.join(fixtures(), model, '1');
const reference = (model: string): Reference =>
  JSON.parse(fs.readFileSync(path.join(fixtures(), model, 'reference.json'), 'utf8'));

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-tflite-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const OPTIONS: PlatformOptions = { savedModelTags: ['serve'] };
const addon = loadBackendAddon('tflite');

/** Runs `use` on a freshly loaded model and unloads it, whatever `use` does. */
async function withModel(model: string, options: Record<string, string>, use: (handle: ModelHandle) => Promise<void>) {
  const handle = await addon.load(versionDir(model), options);
  try {
    await use(handle);
  } finally {
    addon.unload(handle);
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  assert.fail('expected a rejection');
}

describe('TFLite addon', () => {
  for (const model of MODELS) {
    test(`${model}: signatures are the model's SignatureDefs, as tf.lite.Interpreter reads them`, async () => {
      const logged: string[] = [];
      const servable = await loadTfLiteModel(versionDir(model), 1, (severity, message) =>
        logged.push(`${severity} ${message}`),
      );
      try {
        const expected = reference(model).signatures;
        assert.deepEqual([...servable.signatures.keys()].sort(), Object.keys(expected).sort());
        for (const [key, signature] of servable.signatures) {
          assert.equal(signature.methodName, PREDICT_METHOD_NAME);
          assert.deepEqual(Object.fromEntries(signature.inputs), expected[key].inputs, `${key} inputs`);
          assert.deepEqual(Object.fromEntries(signature.outputs), expected[key].outputs, `${key} outputs`);
        }
        // TF-Serving's warning when it makes the signature up.
        const madeUp = model === 'half_plus_two_v1';
        const warning = `WARNING ${versionDir(model)}: No signature def found in TFLite model. Generating one.`;
        assert.deepEqual(logged, madeUp ? [warning] : []);
      } finally {
        servable.unload();
      }
    });

    test(`${model}: every reference case gives tf.lite.Interpreter's outputs`, async () => {
      await withModel(model, {}, async (handle) => {
        const { signatures, cases } = reference(model);
        for (const { signature, inputs, outputs } of cases) {
          const spec = signatures[signature];
          const feeds = Object.entries(inputs).map(([alias, t]): [string, TensorSource] => [
            spec.inputs[alias].name,
            fieldsSource(t),
          ]);
          const aliases = Object.keys(outputs);
          for (const encoding of ['fields', 'host'] as const) {
            const results = new Map(
              await addon.run(
                handle,
                feeds,
                aliases.map((a) => spec.outputs[a].name),
                encoding,
              ),
            );
            for (const alias of aliases) {
              assertTensorMatches(plainOutput(results.get(spec.outputs[alias].name)!), outputs[alias], alias);
            }
          }
        }
      });
    });
  }

  test('concurrent requests of different batch sizes on two instances each get their own answer', async () => {
    await withModel('two_signatures', { num_pools: '2' }, async (handle) => {
      const spec = reference('two_signatures').signatures.serving_default;
      const runs = [1, 4, 2, 7, 3, 1, 5, 6].map(async (rows) => {
        const x = Float32Array.from({ length: rows * 3 }, (_, i) => rows + i);
        const feed = { dtype: DataType.DT_FLOAT, shape: [rows, 3], data: x };
        const [[, total]] = await addon.run(handle, [[spec.inputs.x.name, feed]], [spec.outputs.total.name], 'host');
        const sums = Array.from({ length: rows }, (_, r) => x[3 * r] + x[3 * r + 1] + x[3 * r + 2]);
        assert.deepEqual(plainOutput(total), { dtype: DataType.DT_FLOAT, shape: [rows], values: sums });
      });
      await Promise.all(runs);
    });
  });

  test('inputs that do not fit the signature are INVALID_ARGUMENT, and the model keeps serving', async () => {
    await withModel('two_signatures', {}, async (handle) => {
      const { a, b } = reference('two_signatures').signatures.add.inputs;
      const ints = (values: number[]) => ({
        dtype: DataType.DT_INT32,
        shape: [values.length],
        data: Int32Array.from(values),
      });
      const sum = reference('two_signatures').signatures.add.outputs.sum.name;
      const wrongDtype = await rejection(
        addon.run(
          handle,
          [
            [a.name, { dtype: DataType.DT_FLOAT, shape: [2], data: new Float32Array(2) }],
            [b.name, ints([1, 2])],
          ],
          [sum],
          'host',
        ),
      );
      assert.equal(wrongDtype.code, 'INVALID_ARGUMENT');
      assert.match(wrongDtype.message, /expects DT_INT32 but got DT_FLOAT/);
      const wrongShape = await rejection(
        addon.run(
          handle,
          [
            [a.name, ints([1, 2, 3])],
            [b.name, ints([1, 2])],
          ],
          [sum],
          'host',
        ),
      );
      assert.equal(wrongShape.code, 'INVALID_ARGUMENT');
      assert.match(wrongShape.message, /does not accept shape \[3\] \(its shape is \[2\]\)/);
      const unknown = await rejection(addon.run(handle, [['nope:0', ints([1, 2])]], [sum], 'host'));
      assert.equal(unknown.code, 'INVALID_ARGUMENT');
      const [[, ok]] = await addon.run(
        handle,
        [
          [a.name, ints([1, 2])],
          [b.name, ints([10, 20])],
        ],
        [sum],
        'host',
      );
      assert.deepEqual(plainOutput(ok).values, [11, 22]);
    });
  });

  test('runs on the tensors it is given: no copy for a decoded input, none for the outputs', async () => {
    await withModel('half_plus_two', {}, async (handle) => {
      const { x } = reference('half_plus_two').signatures.serving_default.inputs;
      const { y } = reference('half_plus_two').signatures.serving_default.outputs;
      const values = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i));
      const decoded = await loadTensorCodec().decode({
        dtype: DataType.DT_FLOAT,
        shape: [values.length],
        data: values,
      });
      const before = loadTensorCodec().copyStats();
      const [[, out]] = await addon.run(handle, [[x.name, decoded.handle]], [y.name], 'host');
      assert.deepEqual(loadTensorCodec().copyStats(), before);
      assert.equal(plainOutput(out).values[1], Math.fround(Math.fround(Math.sin(1)) * 0.5 + 2));
    });
  });

  test('a file that is not a TFLite model fails to load with INVALID_ARGUMENT, not quoting it', async () => {
    const dir = fs.mkdtempSync(path.join(scratch, 'bad-'));
    fs.writeFileSync(path.join(dir, 'model.tflite'), 'SECRET-CONTENTS '.repeat(100));
    const error = await rejection(loadTfLiteModel(dir, 1));
    assert.ok(error instanceof ServingError);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.doesNotMatch(error.message, /SECRET/);
    assert.ok(error.message.length < 400, error.message);
  });
});

describe('preferTfLite', () => {
  const tensorflow = tensorFlowPlatform(OPTIONS);
  const preferred = preferTfLite(tensorflow, { ...OPTIONS, preferTfLiteModel: true, numTfLitePools: 2 });
  /** y for x = [1, 2, 5]: the SavedModel gives x/2 + 2, the model.tflite beside it x/2 + 3. */
  const predictY = async (platform: typeof tensorflow, dir: string) => {
    const servable = await platform.load(dir);
    try {
      const x = { dtype: DataType.DT_FLOAT, shape: [3], data: Float32Array.from([1, 2, 5]) };
      const request = { signatureName: '', inputs: new Map([['x', x]]), outputFilter: [], encoding: 'host' as const };
      const outputs = await predict(servable, request);
      return plainOutput(outputs.get('y')!).values;
    } finally {
      servable.unload();
    }
  };

  test('without --prefer_tflite_model the tensorflow platform is unchanged', () => {
    assert.equal(preferTfLite(tensorflow, OPTIONS), tensorflow);
    assert.equal(tensorflow.isVersionDir(versionDir('half_plus_two')), false);
  });

  test('is still the "tensorflow" model_platform, and owns directories holding only model.tflite', () => {
    assert.equal(preferred.name, 'tensorflow');
    assert.equal(preferred.isVersionDir(versionDir('half_plus_two')), true);
    assert.equal(preferred.isVersionDir(scratch), false);
  });

  test("passes the loader's log on", async () => {
    const logged: string[] = [];
    const servable = await preferred.load(versionDir('half_plus_two_v1'), (_, message) => logged.push(message));
    servable.unload();
    assert.equal(logged.length, 1);
    assert.match(logged[0], /No signature def found in TFLite model/);
  });

  test('a version with both files is served from model.tflite only when preferred', async () => {
    assert.deepEqual(await predictY(tensorflow, versionDir('half_plus_two_both')), [2.5, 3, 4.5]);
    assert.deepEqual(await predictY(preferred, versionDir('half_plus_two_both')), [3.5, 4, 5.5]);
  });
});
