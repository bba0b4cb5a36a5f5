/**
 * Model warmup end to end with the real frameworks: the example half_plus_two versions of
 * TensorFlow and PyTorch, copied with a warmup file written by TensorFlow's TFRecordWriter,
 * loaded through PlatformLoader and the real platforms.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import type { Log } from '../../../src/core/log';
import { metricsRegistry } from '../../../src/monitoring/registry';
import { ServingError } from '../../../src/errors/serving_error';
import { loadTensorCodec } from '../../../src/native/backend_addon';
import type { LoadedServable, Platform } from '../../../src/platforms/platform';
import { PlatformLoader, type ModelWarmupOptions } from '../../../src/platforms/platform_loader';
import { platformRegistry } from '../../../src/platforms/registry';
import type { InferenceServable } from '../../../src/servables/inference_servable';
import { replayPredict } from '../../../src/servables/warmup/predict_replayer';
import { WARMUP_FILE } from '../../../src/servables/warmup/replay_warmup';
import type { WarmupReplayer } from '../../../src/servables/warmup/warmup_replayer';
import { REPO_ROOT, tempDir, warmupFiles, type WarmupFileName, type WarmupFiles } from './warmup_files';
import { predict } from '../../../src/servables/predictor';

const EXAMPLES = [
  { framework: 'tensorflow', model: 'half_plus_two' },
  { framework: 'pytorch', model: 'half_plus_two_torch' },
] as const;
type Framework = (typeof EXAMPLES)[number]['framework'];

const platforms = platformRegistry({ savedModelTags: ['serve'] });

/** The real platform, counting the unloads of what it loaded. */
function observedPlatform(framework: Framework): { platform: Platform; unloads: () => number } {
  const real = platforms.get(framework)!;
  let unloads = 0;
  const platform: Platform = {
    name: real.name,
    isVersionDir: (dir) => real.isVersionDir(dir),
    async load(dir) {
      const loaded = await real.load(dir);
      const observed: LoadedServable = {
        signatures: loaded.signatures,
        runChecked: (run) => loaded.runChecked(run),
        unload: () => {
          unloads++;
          loaded.unload();
        },
      };
      return observed;
    },
  };
  return { platform, unloads: () => unloads };
}

let versions = 0;
let root: string;

const exampleDir = (framework: Framework) =>
  path.join(REPO_ROOT, 'var', 'models', 'examples', EXAMPLES.find((e) => e.framework === framework)!.model, '1');

/**
 * A copy of the example's version 1 as a new version, with `warmup` (a file, or bytes) as its
 * warmup file instead of the example's own.
 */
function exampleVersion(framework: Framework, warmup?: string | Buffer): string {
  const dir = path.join(root, path.basename(path.dirname(exampleDir(framework))), String(++versions));
  fs.cpSync(exampleDir(framework), dir, { recursive: true });
  fs.rmSync(path.join(dir, 'assets.extra'), { recursive: true, force: true });
  if (warmup !== undefined) {
    fs.mkdirSync(path.join(dir, 'assets.extra'), { recursive: true });
    const file = path.join(dir, WARMUP_FILE);
    if (typeof warmup === 'string') fs.copyFileSync(warmup, file);
    else fs.writeFileSync(file, warmup);
  }
  return dir;
}

function recorder(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  return { log: (_severity, message) => lines.push(message), lines };
}

/** Copies the addons made so far: one per input decoded, per output encoded. */
const copies = () => loadTensorCodec().copyStats().copies;

const halfPlusTwo = (servable: InferenceServable) =>
  predict(servable, {
    signatureName: '',
    inputs: new Map([['x', { dtype: 1, shape: [2], data: new Float32Array([2, 4]) }]]),
    outputFilter: [],
    encoding: 'host',
  });

async function assertLoadFails(loader: PlatformLoader, code: string, ...fragments: string[]) {
  await assert.rejects(loader.load(), (error: unknown) => {
    assert.ok(error instanceof ServingError, String(error));
    assert.equal(error.code, code, error.message);
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), error.message);
    return true;
  });
  assert.throws(() => loader.servable(), /is not loaded/);
}

describe('model warmup', () => {
  let files: WarmupFiles;
  const file = (name: WarmupFileName) => files.path(name);

  before(() => {
    files = warmupFiles();
    root = tempDir('duoserve-warmup-versions-');
  });

  for (const { framework } of EXAMPLES) {
    test(`${framework}: replays every predict record, each iteration, before load() resolves`, async () => {
      // Copies of one request of the warmup file, measured on a version without warmup.
      const probe = new PlatformLoader(platforms.get(framework)!, exampleVersion(framework), recorder().log);
      await probe.load();
      const beforeOne = copies();
      const request = Buffer.from(files.manifest.requests.predict[0] as string, 'base64');
      await replayPredict(probe.servable() as InferenceServable, request);
      const perRequest = copies() - beforeOne;
      await probe.unload();
      assert.ok(perRequest >= 1);

      for (const iterations of [1, 3]) {
        const dir = exampleVersion(framework, file('predict'));
        const { log, lines } = recorder();
        const loader = new PlatformLoader(platforms.get(framework)!, dir, { log, numRequestIterations: iterations });
        const before = copies();
        await loader.load();
        assert.equal(copies() - before, 2 * iterations * perRequest, `${iterations} iterations`);
        const times = iterations > 1 ? `, ${iterations} times each` : '';
        assert.ok(
          lines.some((line) =>
            new RegExp(`^Finished warmup of ${dir}: 2 records replayed${times} in \\d+\\.\\d ms$`).test(line),
          ),
          lines.join('\n'),
        );
        const outputs = await halfPlusTwo(loader.servable() as InferenceServable);
        assert.deepEqual([...new Float32Array((outputs.get('y') as { data: ArrayBuffer }).data)], [3, 4]);
        await loader.unload();
      }
    });

    test(`${framework}: the bundled example (scripts/export_models.py) warms up with its sample requests`, async () => {
      const { log, lines } = recorder();
      const loader = new PlatformLoader(platforms.get(framework)!, exampleDir(framework), log);
      await loader.load();
      assert.ok(
        lines.some((line) => line.startsWith(`Finished warmup of ${exampleDir(framework)}: 2 records replayed in`)),
        lines.join('\n'),
      );
      await loader.unload();
    });

    test(`${framework}: a request the model rejects fails the load and unloads it; a serving version keeps serving`, async () => {
      const serving = new PlatformLoader(platforms.get(framework)!, exampleVersion(framework), recorder().log);
      await serving.load();
      const { platform, unloads } = observedPlatform(framework);
      const dir = exampleVersion(framework, file('bad_input'));
      await assertLoadFails(
        new PlatformLoader(platform, dir, recorder().log),
        'INVALID_ARGUMENT',
        `Warmup request failed (record 1 of ${path.join(dir, WARMUP_FILE)})`,
        'input tensor alias not found in signature: wrong',
      );
      assert.equal(unloads(), 1);
      await halfPlusTwo(serving.servable() as InferenceServable);
      await serving.unload();
    });
  }

  test('each warmup is recorded as TF-Serving records it: its time and records by version and status', async () => {
    const ok = exampleVersion('pytorch', file('predict'));
    const loader = new PlatformLoader(platforms.get('pytorch')!, ok, recorder().log);
    await loader.load();
    await loader.unload();
    const failed = exampleVersion('tensorflow', file('bad_input'));
    await assertLoadFails(new PlatformLoader(platforms.get('tensorflow')!, failed, recorder().log), 'INVALID_ARGUMENT');

    const latency = await figures(':tensorflow:serving:model_warmup_latency');
    const records = await figures(':tensorflow:serving:model_warmup_records_read');
    assert.equal(latency.get(`_count ${ok} OK`), 1);
    assert.ok(latency.get(`_sum ${ok} OK`)! > 0);
    assert.equal(records.get(` ${ok} OK`), 2);
    // The status as absl::Status::ToString() writes it; the records that ran before the failure.
    const failure = [...latency.keys()].find((key) => key.startsWith(`_count ${failed} `))!;
    assert.match(failure, /INVALID_ARGUMENT: Warmup request failed \(record 1 of .*\): input tensor alias not found/);
    assert.equal(records.get(failure.slice('_count'.length)), 1);
    // Each replayed predict_log is a Predict in the runtime's figures, under the record's model name.
    const runtime = await figures(':tensorflow:serving:runtime_latency', ['model_name', 'API', 'runtime']);
    assert.ok(runtime.get('_count some_other_name Predict TorchScript')! >= 2);
  });

  test('a corrupt warmup file fails the load with DATA_LOSS, naming the file and the record', async () => {
    const bytes = fs.readFileSync(file('predict'));
    bytes[bytes.length - 6] ^= 0xff;
    const { platform, unloads } = observedPlatform('tensorflow');
    const dir = exampleVersion('tensorflow', bytes);
    await assertLoadFails(
      new PlatformLoader(platform, dir, recorder().log),
      'DATA_LOSS',
      `${path.join(dir, WARMUP_FILE)}: record 1 at byte offset`,
      'corrupted data (CRC32C mismatch). Please verify your warmup data is in TFRecord format.',
    );
    assert.equal(unloads(), 1);
  });

  test('a record that is no PredictionLog fails the load with INVALID_ARGUMENT', async () => {
    const dir = exampleVersion('tensorflow', file('unparseable'));
    await assertLoadFails(
      new PlatformLoader(platforms.get('tensorflow')!, dir, recorder().log),
      'INVALID_ARGUMENT',
      `Failed to parse warmup record 1 of ${path.join(dir, WARMUP_FILE)} as a PredictionLog`,
    );
  });

  test('more than 1000 records fail the load, as TF-Serving limits them', async () => {
    const dir = exampleVersion('tensorflow', file('too_many'));
    await assertLoadFails(
      new PlatformLoader(platforms.get('tensorflow')!, dir, recorder().log),
      'INVALID_ARGUMENT',
      `Number of warmup records exceeds the maximum (1000) at ${path.join(dir, WARMUP_FILE)}`,
    );
  });

  test('session_run_log is unsupported, as in TF-Serving', async () => {
    await assertLoadFails(
      new PlatformLoader(platforms.get('pytorch')!, exampleVersion('pytorch', file('session_run')), recorder().log),
      'UNIMPLEMENTED',
      'Unsupported log_type for warmup: session_run_log (record 0 of',
    );
  });

  test('classify_log goes to the injected replayer, each iteration; without one the load fails', async () => {
    await assertLoadFails(
      new PlatformLoader(platforms.get('tensorflow')!, exampleVersion('tensorflow', file('classify')), recorder().log),
      'UNIMPLEMENTED',
      'Unsupported log_type for warmup: classify_log (record 0 of',
    );

    const seen: Array<{ servable: InferenceServable; request: string }> = [];
    const classify: WarmupReplayer = async (servable, request) => {
      seen.push({ servable, request: Buffer.from(request).toString('base64') });
    };
    const options: ModelWarmupOptions = { numRequestIterations: 2, replayers: new Map([['classify_log', classify]]) };
    const loader = new PlatformLoader(platforms.get('tensorflow')!, exampleVersion('tensorflow', file('classify')), {
      log: recorder().log,
      ...options,
    });
    await loader.load();
    assert.deepEqual(
      seen.map((s) => s.request),
      Array(2).fill(files.manifest.requests.classify[0]),
    );
    assert.ok(seen.every((s) => s.servable === loader.servable()));
    await loader.unload();
  });

  test('records without a log type and predict_streamed_log are passed over, as TF-Serving does', async () => {
    const predicts: Uint8Array[] = [];
    const countingPredict: WarmupReplayer = (servable, request) => {
      predicts.push(request);
      return replayPredict(servable, request);
    };
    const { log, lines } = recorder();
    const dir = exampleVersion('tensorflow', file('skipped_and_predict'));
    const loader = new PlatformLoader(platforms.get('tensorflow')!, dir, {
      log,
      replayers: new Map([['predict_log', countingPredict]]),
    });
    await loader.load();
    assert.equal(predicts.length, 1);
    assert.ok(
      lines.some((line) => line.startsWith(`Finished warmup of ${dir}: 3 records replayed in`)),
      lines.join('\n'),
    );
    await loader.unload();
  });

  test('--enable_model_warmup=false skips the file; a version without one logs so', async () => {
    const { log, lines } = recorder();
    const loader = new PlatformLoader(platforms.get('tensorflow')!, exampleVersion('tensorflow', file('bad_input')), {
      log,
      enableModelWarmup: false,
    });
    await loader.load();
    assert.ok(!lines.some((line) => /^(Finished|No) warmup/.test(line)), lines.join('\n'));
    await loader.unload();

    const plain = recorder();
    const dir = exampleVersion('pytorch');
    const withoutFile = new PlatformLoader(platforms.get('pytorch')!, dir, plain.log);
    await withoutFile.load();
    assert.ok(
      plain.lines.includes(`No warmup data file found at ${path.join(dir, WARMUP_FILE)}`),
      plain.lines.join('\n'),
    );
    await withoutFile.unload();
  });
});

/** One metric's samples, keyed by "<suffix> <label values in `labels` order>" (suffix '' for a counter, _count, _sum). */
async function figures(name: string, labels = ['model_path', 'status']): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const value of (await metricsRegistry.getSingleMetric(name)!.get()).values) {
    const sample = (value as { metricName?: string }).metricName ?? name;
    const key = [sample.slice(name.length), ...labels.map((label) => String(value.labels[label]))].join(' ');
    found.set(key, value.value);
  }
  return found;
}
