/**
 * bin/duoserve refuses to start where tensorflow_model_server does, with its words: a model
 * whose first version fails to load, a label in the startup config (unless
 * --allow_version_labels_for_unavailable_models), a platform no adapter serves.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  EXAMPLE_MODELS,
  ModelDirs,
  modelConfigText,
  REPO_ROOT,
  startDuoserve,
  type ModelConfigObject,
} from './lifecycle_helpers';

const [tensorflow] = EXAMPLE_MODELS;

describe('bin/duoserve startup', { timeout: 60_000 }, () => {
  const dirs = new ModelDirs();
  after(() => dirs.cleanUp());

  const run = (models: ModelConfigObject[], extraArgs: string[] = []) => {
    const configFile = path.join(dirs.root, `models-${Math.random().toString(36).slice(2)}.config`);
    dirs.writeFile(configFile, modelConfigText(models));
    const result = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'duoserve'), '--port=1', `--model_config_file=${configFile}`, ...extraArgs],
      { encoding: 'utf8', timeout: 30_000 },
    );
    return { status: result.status, stderr: result.stderr };
  };

  it('fails when a model cannot load its version', () => {
    const base = dirs.basePath('corrupt');
    dirs.addCorruptVersion(base, tensorflow, 1);
    // Without retries (5, a minute apart, by default).
    const { status, stderr } = run([{ name: 'corrupt', base_path: base, model_platform: 'tensorflow' }], [
      '--max_num_load_retries=0',
    ]);
    assert.equal(status, 1);
    const failed = 'Failed to start server. Error: UNKNOWN: 1 servable(s) did not become available: ';
    assert.ok(stderr.includes(`${failed}{{{name: corrupt version: 1} due to error: DATA_LOSS: `), stderr);
  });

  it('fails on a version label, unless --allow_version_labels_for_unavailable_models', async () => {
    const base = dirs.basePath('labelled');
    dirs.addVersion(base, tensorflow, 1);
    const models = [{ name: 'labelled', base_path: base, model_platform: 'tensorflow', version_labels: { stable: 1 } }];
    const { status, stderr } = run(models);
    assert.equal(status, 1);
    const refused =
      'Failed to start server. Error: FAILED_PRECONDITION: Request to assign label to version 1 of model labelled, ' +
      'which is not currently available for inference';
    assert.ok(stderr.includes(refused), stderr);

    const configFile = path.join(dirs.root, 'labelled.config');
    dirs.writeFile(configFile, modelConfigText(models));
    const allowed = [`--model_config_file=${configFile}`, '--allow_version_labels_for_unavailable_models'];
    const server = await startDuoserve(allowed, 'labelled');
    try {
      assert.equal((await server.client.predict({ name: 'labelled', label: 'stable' })).version, 1);
    } finally {
      await server.stop();
    }
  });

  it('fails on a platform no adapter serves', () => {
    const { status, stderr } = run([{ name: 'm', base_path: dirs.basePath('m'), model_platform: 'onnx' }]);
    assert.equal(status, 1);
    assert.ok(stderr.includes('Failed to start server. Error: INVALID_ARGUMENT: Model m requests unsupported platform onnx'));
  });
});
