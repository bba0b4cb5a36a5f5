/**
 * bin/duoserve with tensorflow_model_server's TensorFlow flags, against the real TensorFlow:
 * --tensorflow_session_config_file and the thread flags (seen in the server's threads: TensorFlow
 * names its inter-op pools' threads tf_Compute*), --platform_config_file, --mixed_precision (seen
 * in the results' rounding), and --xla_cpu_compilation_enabled (a jit_compile model runs only
 * with it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { readReference, versionDir } from '../platforms/tensorflow/fixtures';
import {
  EXAMPLE_MODELS,
  EXPECTED_Y,
  ModelDirs,
  modelConfigText,
  REPO_ROOT,
  rpcError,
  startDuoserve,
  type DuoserveProcess,
  type ModelConfigObject,
} from './lifecycle_helpers';

const [tensorflow, pytorch] = EXAMPLE_MODELS;

/** How many threads of process `pid` have this name (Linux's /proc/PID/task/TID/comm). */
function threadsNamed(pid: number, name: string): number {
  const tasks = fs.readdirSync(`/proc/${pid}/task`);
  return tasks.filter((task) => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim() === name;
    } catch {
      return false; // the thread ended meanwhile
    }
  }).length;
}

describe('bin/duoserve TensorFlow flags', { timeout: 120_000 }, () => {
  const dirs = new ModelDirs();
  after(() => dirs.cleanUp());

  const file = (name: string, text: string) => {
    const written = path.join(dirs.root, name);
    dirs.writeFile(written, text);
    return written;
  };
  const tensorFlowModel = (name: string): ModelConfigObject => {
    const base = dirs.basePath(name);
    if (!fs.existsSync(path.join(base, '1'))) dirs.addVersion(base, tensorflow, 1);
    return { name, base_path: base, model_platform: 'tensorflow' };
  };
  const jitModel = (): ModelConfigObject => {
    const base = dirs.basePath('jit');
    if (!fs.existsSync(path.join(base, '1')))
      fs.cpSync(versionDir('jit_compiled'), path.join(base, '1'), { recursive: true });
    return { name: 'jit', base_path: base, model_platform: 'tensorflow' };
  };
  const modelsFlag = (name: string, models: ModelConfigObject[]) =>
    `--model_config_file=${file(`${name}.models.config`, modelConfigText(models))}`;
  const serving = async (args: string[], readyModel: string, check: (server: DuoserveProcess) => Promise<void>) => {
    const server = await startDuoserve(args, readyModel);
    try {
      await check(server);
    } finally {
      await server.stop();
    }
  };
  const refusedStart = (args: string[]) => {
    const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'duoserve'), '--port=1', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 255, result.stdout + result.stderr);
    return result.stdout;
  };

  it("--tensorflow_session_config_file configures every session; its thread counts yield to the flags'", async () => {
    // Per-session inter-op pools: one per model, sized by --tensorflow_session_parallelism (the
    // file's 7 is overwritten, as TF-Serving overwrites it). Without the file, both sessions
    // would share TensorFlow's global pool of one thread per CPU.
    const sessionConfig = file('session.config', 'use_per_session_threads: true\ninter_op_parallelism_threads: 7\n');
    const models = [tensorFlowModel('a'), tensorFlowModel('b')];
    const args = [modelsFlag('threads', models), `--tensorflow_session_config_file=${sessionConfig}`];
    await serving([...args, '--tensorflow_session_parallelism=3'], 'b', async (server) => {
      assert.equal((await server.client.states('a'))[1], 'AVAILABLE');
      assert.equal(threadsNamed(server.process.pid!, 'tf_Compute'), 6);
      assert.deepEqual((await server.client.predict({ name: 'a' })).y, EXPECTED_Y);
      assert.doesNotMatch(server.output(), /tensorflow_session/); // no "not supported" warning
    });
  });

  it('a session config file that does not parse, or all three thread flags, stop the start', () => {
    const model = modelsFlag('refused', [tensorFlowModel('a')]);
    const bad = file('bad-session.config', 'intra_op_parallelism_threads: 2\ninter_op_threads: 1\n');
    assert.ok(
      refusedStart([model, `--tensorflow_session_config_file=${bad}`]).includes(
        `Failed to start server. Error: INVALID_ARGUMENT: Invalid protobuf file: '${bad}': ` +
          "Error parsing text-format tensorflow.ConfigProto: 2:1: unknown field 'inter_op_threads' in tensorflow.ConfigProto",
      ),
    );
    const allThree = refusedStart([
      model,
      '--tensorflow_session_parallelism=2',
      '--tensorflow_intra_op_parallelism=2',
      '--tensorflow_inter_op_parallelism=2',
    ]);
    assert.match(
      allThree,
      /Failed to start server\. Error: INVALID_ARGUMENT: Either configure .* You cannot configure all\./,
    );
  });

  it('--platform_config_file replaces the platforms and the TensorFlow flags', async () => {
    const platformConfig = file(
      'platform.config',
      `platform_configs {
        key: "tensorflow"
        value {
          source_adapter_config {
            [type.googleapis.com/tensorflow.serving.SavedModelBundleSourceAdapterConfig] {
              legacy_config {
                session_config { session_inter_op_thread_pool { num_threads: 5 } }
                saved_model_tags: "serve"
                enable_model_warmup: true
                enable_session_metadata: true
              }
            }
          }
        }
      }`,
    );
    const args = [modelsFlag('platform', [tensorFlowModel('a')]), `--platform_config_file=${platformConfig}`];
    // --tensorflow_session_parallelism is ignored with a platform config, as in TF-Serving: the
    // config's own pool of 5 is what the session gets.
    await serving([...args, '--tensorflow_session_parallelism=3'], 'a', async (server) => {
      assert.equal(threadsNamed(server.process.pid!, 'tf_Compute0'), 5);
      assert.equal(threadsNamed(server.process.pid!, 'tf_Compute'), 0);
      assert.deepEqual((await server.client.predict({ name: 'a' })).y, EXPECTED_Y);
      assert.match(server.output(), /legacy_config fields enable_session_metadata are not supported by duoserve/);
      assert.match(server.output(), /--tensorflow_session_parallelism ignored: with --platform_config_file/);
    });

    // Only the platforms the map names serve models.
    const torch = dirs.basePath('torch');
    dirs.addVersion(torch, pytorch, 1);
    const unnamed = refusedStart([
      modelsFlag('unnamed', [{ name: 'torch', base_path: torch, model_platform: 'pytorch' }]),
      `--platform_config_file=${platformConfig}`,
    ]);
    assert.ok(
      unnamed.includes(
        'Failed to start server. Error: INVALID_ARGUMENT: Model torch requests unsupported platform pytorch',
      ),
    );
    const unknown = file('unknown-platform.config', 'platform_configs { key: "onnx" value {} }');
    assert.match(
      refusedStart([modelsFlag('unknown', [tensorFlowModel('a')]), `--platform_config_file=${unknown}`]),
      /INVALID_ARGUMENT: --platform_config_file: duoserve has no platform onnx \(it serves tensorflow, pytorch, chain\)/,
    );
  });

  it('--mixed_precision=bfloat16: the session computes in bfloat16; another mode is warned about', async () => {
    const base = dirs.basePath('dense');
    fs.cpSync(versionDir('keras_dense'), path.join(base, '1'), { recursive: true });
    const models = modelsFlag('dense', [{ name: 'dense', base_path: base, model_platform: 'tensorflow' }]);
    const { inputs, outputs } = readReference('keras_dense').cases[0];
    const [[alias, input]] = Object.entries(inputs);
    const [[outputAlias, expected]] = Object.entries(outputs);
    const tensor = { dtype: 1, tensor_shape: { dim: input.shape.map((size) => ({ size })) }, float_val: input.values };
    const largestError = async (server: DuoserveProcess) => {
      const response = await server.client.predictTensors({ name: 'dense' }, { [alias]: tensor });
      const got: number[] = response.outputs[outputAlias].float_val;
      return Math.max(...got.map((value, i) => Math.abs(value - (expected.values[i] as number))));
    };
    await serving([models], 'dense', async (server) => assert.ok((await largestError(server)) < 1e-5));
    await serving([models, '--mixed_precision=bfloat16'], 'dense', async (server) => {
      const error = await largestError(server);
      assert.ok(error > 1e-5 && error < 5e-2, `largest error ${error}`);
    });
    await serving([models, '--mixed_precision=fp16'], 'dense', async (server) => {
      assert.ok((await largestError(server)) < 1e-5);
      assert.match(server.output(), /fp16 auto mixed precision is not supported\. Valid option: bfloat16/);
    });
  });

  it('--xla_cpu_compilation_enabled: without it, a model that needs XLA fails as in TF-Serving', async () => {
    const models = modelsFlag('xla', [jitModel()]);
    const { inputs, outputs } = readReference('jit_compiled').cases[0];
    const x = { dtype: 1, tensor_shape: { dim: inputs.x.shape.map((size) => ({ size })) }, float_val: inputs.x.values };
    await serving([models], 'jit', async (server) => {
      const error = await rpcError(server.client.predictTensors({ name: 'jit' }, { x }));
      assert.equal(error.code, grpc.status.INTERNAL);
      assert.match(error.details, /XLA compilation disabled/);
    });
    await serving([models, '--xla_cpu_compilation_enabled'], 'jit', async (server) => {
      const response = await server.client.predictTensors({ name: 'jit' }, { x });
      assert.deepEqual(response.outputs.y.float_val, outputs.y.values);
    });
  });
});
