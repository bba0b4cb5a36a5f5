/**
 * bin/duoserve refuses to start where tensorflow_model_server does, with its words, on standard
 * output and with its exit code (255, main's -1): a model whose first version fails to load (or
 * holds no model), a label in the startup config (unless
 * --allow_version_labels_for_unavailable_models), a platform no adapter serves, a config file
 * that does not parse or cannot be read, flags it refuses. It waits for a model still to appear.
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

  const duoserve = (args: string[]) => {
    const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'duoserve'), ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout };
  };
  const configFileWith = (text: string) => {
    const configFile = path.join(dirs.root, `models-${Math.random().toString(36).slice(2)}.config`);
    dirs.writeFile(configFile, text);
    return configFile;
  };
  const run = (models: ModelConfigObject[], extraArgs: string[] = []) =>
    duoserve(['--port=1', `--model_config_file=${configFileWith(modelConfigText(models))}`, ...extraArgs]);

  it('fails when a model cannot load its version', () => {
    const base = dirs.basePath('corrupt');
    dirs.addCorruptVersion(base, tensorflow, 1);
    // Without retries (5, a minute apart, by default).
    const { status, stdout } = run(
      [{ name: 'corrupt', base_path: base, model_platform: 'tensorflow' }],
      ['--max_num_load_retries=0'],
    );
    assert.equal(status, 255);
    const failed = 'Failed to start server. Error: UNKNOWN: 1 servable(s) did not become available: ';
    assert.ok(stdout.includes(`${failed}{{{name: corrupt version: 1} due to error: DATA_LOSS: `), stdout);
  });

  it("fails when a model's only version holds no model, once that directory has settled (3 s)", () => {
    const base = dirs.basePath('old_export');
    dirs.addOldExportVersion(base, 1);
    const { status, stdout } = run(
      [{ name: 'old_export', base_path: base, model_platform: 'tensorflow' }],
      ['--max_num_load_retries=0'],
    );
    assert.equal(status, 255, stdout);
    const failed =
      'Failed to start server. Error: UNKNOWN: 1 servable(s) did not become available: ' +
      '{{{name: old_export version: 1} due to error: NOT_FOUND: ';
    assert.ok(stdout.includes(failed), stdout);
    assert.ok(
      stdout.includes(`Could not find SavedModel .pb or .pbtxt at supplied export directory path: ${base}/1`),
      stdout,
    );
  });

  it('waits for a model whose base path is still missing, as tensorflow_model_server does', async () => {
    const base = path.join(dirs.root, 'models', 'later');
    const started = startDuoserve([`--model_name=later`, `--model_base_path=${base}`], 'later');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // it polls every second meanwhile
    dirs.addVersion(dirs.basePath('later'), tensorflow, 1);
    const server = await started;
    try {
      assert.equal((await server.client.predict({ name: 'later' })).version, 1);
    } finally {
      await server.stop();
    }
  });

  it('fails on a version label, unless --allow_version_labels_for_unavailable_models', async () => {
    const base = dirs.basePath('labelled');
    dirs.addVersion(base, tensorflow, 1);
    const models = [{ name: 'labelled', base_path: base, model_platform: 'tensorflow', version_labels: { stable: 1 } }];
    const { status, stdout } = run(models);
    assert.equal(status, 255);
    const refused =
      'Failed to start server. Error: FAILED_PRECONDITION: Request to assign label to version 1 of model labelled, ' +
      'which is not currently available for inference';
    assert.ok(stdout.includes(refused), stdout);

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
    const { status, stdout } = run([{ name: 'm', base_path: dirs.basePath('m'), model_platform: 'onnx' }]);
    assert.equal(status, 255);
    assert.ok(
      stdout.includes('Failed to start server. Error: INVALID_ARGUMENT: Model m requests unsupported platform onnx'),
    );
  });

  it('fails on a config file that does not parse, naming the message type and where', () => {
    const configFile = configFileWith('model_config_list {\n  config { name: "m" bsae_path: "/m" }\n}\n');
    const { status, stdout } = duoserve(['--port=1', `--model_config_file=${configFile}`]);
    assert.equal(status, 255);
    assert.equal(
      stdout,
      `Failed to start server. Error: INVALID_ARGUMENT: Invalid protobuf file: '${configFile}': ` +
        'Error parsing text-format tensorflow.serving.ModelServerConfig: 2:22: ' +
        "unknown field 'bsae_path' in tensorflow.serving.ModelConfig\n",
    );
  });

  it("fails on a config file that cannot be read, with TensorFlow's I/O status", () => {
    const missing = path.join(dirs.root, 'no-such.config');
    const { status, stdout } = duoserve(['--port=1', `--model_config_file=${missing}`]);
    assert.equal(status, 255);
    assert.equal(stdout, `Failed to start server. Error: NOT_FOUND: ${missing}; No such file or directory\n`);
  });

  it('refuses the flag combinations Server::BuildAndStart refuses, in its words', () => {
    assert.deepEqual(duoserve(['--port=0', '--model_base_path=/m']), {
      status: 255,
      stdout:
        'Failed to start server. Error: INVALID_ARGUMENT: ' +
        'At least one of server_options.grpc_port or server_options.grpc_socket_path must be set.\n',
    });
    assert.deepEqual(duoserve(['--port=1']), {
      status: 255,
      stdout:
        'Failed to start server. Error: INVALID_ARGUMENT: ' +
        'Both server_options.model_base_path and server_options.model_config_file are empty!\n',
    });
  });

  it('refuses batching parameters as TF-Serving does: num_batch_threads at start, the rest at each load', () => {
    const paramsFile = (text: string) => {
      const file = path.join(dirs.root, `batching-${Math.random().toString(36).slice(2)}.pbtxt`);
      dirs.writeFile(file, text);
      return file;
    };
    const base = dirs.basePath('batched');
    dirs.addVersion(base, tensorflow, 1);
    const batched = (text: string) =>
      run(
        [{ name: 'batched', base_path: base, model_platform: 'tensorflow' }],
        ['--enable_batching', `--batching_parameters_file=${paramsFile(text)}`, '--max_num_load_retries=0'],
      );
    const threads = batched('num_batch_threads { value: 0 }');
    assert.equal(threads.status, 255);
    assert.ok(
      threads.stdout.includes(
        'Failed to start server. Error: INVALID_ARGUMENT: num_batch_threads must be positive; was 0',
      ),
      threads.stdout,
    );
    const sizes = batched('max_batch_size { value: 16 } allowed_batch_sizes: [4, 8]');
    assert.equal(sizes.status, 255);
    assert.ok(
      sizes.stdout.includes(
        '{{{name: batched version: 1} due to error: INVALID_ARGUMENT: Last entry in allowed_batch_sizes must match ' +
          'max_batch_size; last entry was 8; expected 16',
      ),
      sizes.stdout,
    );
  });

  it("answers a flag value it cannot read with TensorFlow's flag parser text and the usage", () => {
    const { status, stdout } = duoserve(['--port=abc', '--model_base_path=/m']);
    assert.equal(status, 255);
    assert.ok(stdout.startsWith("Couldn't interpret value abc for flag port.\nusage: duoserve\nFlags:\n"), stdout);
  });
});
