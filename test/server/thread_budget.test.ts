/**
 * The thread budget (src/config/thread_budget.ts) reaching the real frameworks in bin/duoserve:
 * the start-up line states it, TensorFlow's inter-op pool has its size (TensorFlow names those
 * threads tf_Compute), and libtorch's OpenMP teams have theirs. OpenMP starts a team for each
 * thread that runs a parallel op with more than one thread, so a libuv worker whose runs use
 * one intra-op thread adds no thread to the process, and one whose runs use two adds one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelDirs, modelConfigText, REPO_ROOT, startDuoserve, type DuoserveProcess } from './lifecycle_helpers';

const cores = os.availableParallelism();
const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');

function threads(pid: number): string[] {
  return fs.readdirSync(`/proc/${pid}/task`).flatMap((task) => {
    try {
      return [fs.readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim()];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

/** The MLP examples' input, x float32 [8, 512]. */
const MLP_X = {
  dtype: 1,
  tensor_shape: { dim: [{ size: 8 }, { size: 512 }] },
  float_val: new Array(8 * 512).fill(0.5),
};

/** `total` Predicts on `model`, `concurrency` at a time. */
async function predicts(server: DuoserveProcess, model: string, concurrency: number, total: number): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent++ < total) {
        const response = await server.client.predictTensors({ name: model }, { x: MLP_X }, 30_000);
        assert.deepEqual(response.outputs.y.tensor_shape.dim, [{ size: 8 }, { size: 512 }]);
      }
    }),
  );
}

/** Threads the process gains while its first PyTorch runs are served, `concurrency` at a time. */
async function threadsAddedByTorchRuns(server: DuoserveProcess, concurrency: number): Promise<number> {
  const before = threads(server.process.pid!).length;
  await predicts(server, 'mlp_torch', concurrency, 16 * concurrency);
  return threads(server.process.pid!).length - before;
}

describe('bin/duoserve thread budget', { timeout: 180_000 }, () => {
  const dirs = new ModelDirs();
  after(() => dirs.cleanUp());
  const configFile = path.join(dirs.root, 'mlps.config');
  dirs.writeFile(
    configFile,
    modelConfigText([
      { name: 'mlp_torch', base_path: path.join(EXAMPLES, 'mlp_torch'), model_platform: 'pytorch' },
      { name: 'mlp_tf', base_path: path.join(EXAMPLES, 'mlp_tf'), model_platform: 'tensorflow' },
    ]),
  );
  const serving = async (args: string[], check: (server: DuoserveProcess) => Promise<void>) => {
    const server = await startDuoserve([`--model_config_file=${configFile}`, ...args], 'mlp_tf', 120_000);
    try {
      await check(server);
    } finally {
      await server.stop();
    }
  };

  it('by default: one run per CPU, each with one intra-op thread, in TensorFlow and libtorch alike', async () => {
    const runs = Math.max(2, cores);
    await serving([], async (server) => {
      assert.match(
        server.output(),
        new RegExp(
          `Thread budget for ${cores} CPUs: ${runs} concurrent runs; TensorFlow sessions intra-op 1, ` +
            `inter-op ${runs}; PyTorch intra-op 1, inter-op 1`,
        ),
      );
      assert.doesNotMatch(server.output(), /exceed the/);
      await predicts(server, 'mlp_tf', 2, 8);
      assert.equal(threads(server.process.pid!).filter((name) => name === 'tf_Compute').length, runs);
      // libtorch on its own gives each worker an OpenMP team of one thread per CPU.
      assert.equal(await threadsAddedByTorchRuns(server, 2 * cores), 0);
    });
  });

  it('explicit flags win: --grpc_max_threads sizes the runs and TensorFlow inter-op pool, the torch flags libtorch', async () => {
    const runs = Math.max(2, cores) + 1;
    const args = [`--grpc_max_threads=${runs}`, '--duoserve_torch_intra_op_threads=2'];
    await serving(args, async (server) => {
      assert.match(
        server.output(),
        new RegExp(
          `Thread budget for ${cores} CPUs: ${runs} concurrent runs; TensorFlow sessions intra-op 1, ` +
            `inter-op ${runs}; PyTorch intra-op 2, inter-op 1`,
        ),
      );
      assert.match(
        server.output(),
        new RegExp(
          `^W .*${runs} concurrent runs x 2 PyTorch intra-op threads exceed the ${Math.max(1, cores - 1)} CPU`,
          'm',
        ),
      );
      await predicts(server, 'mlp_tf', 2, 8);
      assert.equal(threads(server.process.pid!).filter((name) => name === 'tf_Compute').length, runs);
      // Each worker that ran gets a team of 2: itself and one OpenMP thread.
      const added = await threadsAddedByTorchRuns(server, 2 * runs);
      assert.ok(added >= 1 && added <= runs, `${added} threads added`);
    });
  });

  it('a torch thread count out of range stops the start', () => {
    const result = spawnSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'bin', 'duoserve'),
        '--port=1',
        '--model_base_path=/nonexistent',
        '--duoserve_torch_inter_op_threads=-1',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(result.status, 255, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /Failed to start server\. Error: INVALID_ARGUMENT: --duoserve_torch_inter_op_threads must be from 0 \(the thread budget's\) to 1024; got -1/,
    );
  });
});
