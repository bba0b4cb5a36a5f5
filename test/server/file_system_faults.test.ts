/**
 * File-system faults under load: bin/duoserve serves the only version of one model while clients
 * send Predict without pause, and the version directory loses its model file, then everything
 * (an `rsync --delete` half way), then gets it back. A loaded version is in memory: not one
 * request may fail. (A permission change, chmod 000, is the same case to the source — a model
 * file it cannot see — but cannot be staged here: these tests run as root, who reads anything.)
 * Runs for a TensorFlow and a PyTorch model; prints the counts.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';
import { EXAMPLE_MODELS, EXPECTED_Y, ModelDirs, startDuoserve, waitUntil } from './lifecycle_helpers';

const CLIENTS = 3;
/** Each fault lasts this long: several polls and past the settle period (3 s at this poll wait). */
const FAULT_MS = 4_000;

for (const model of EXAMPLE_MODELS) {
  it(
    `file-system faults under load: ${model.platform}, the serving version keeps serving`,
    { timeout: 120_000 },
    async () => {
      const dirs = new ModelDirs();
      const base = dirs.basePath('m');
      dirs.addVersion(base, model, 1);
      const version = path.join(base, '1');
      const aside = path.join(dirs.root, 'aside');
      const flags = ['--model_name=m', `--model_base_path=${base}`, '--file_system_poll_wait_seconds=1'];
      const server = await startDuoserve(flags, 'm').catch((error) => {
        dirs.cleanUp();
        throw error;
      });
      const { client } = server;
      let stopped = false;
      let requests = 0;
      const failures: string[] = [];
      const sendUntilStopped = async () => {
        while (!stopped) {
          requests++;
          try {
            const { y } = await client.predict({ name: 'm' });
            assert.deepEqual(y, EXPECTED_Y);
          } catch (error) {
            failures.push(String((error as Error).message));
          }
        }
      };
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const faults = async () => {
        try {
          // 1. The model file moved out of the only version.
          fs.renameSync(path.join(version, model.modelFile), aside);
          await sleep(FAULT_MS);
          fs.renameSync(aside, path.join(version, model.modelFile));
          await sleep(FAULT_MS / 2);
          fs.mkdirSync(aside);
          // 2. Everything in it deleted (an rsync --delete before the new files arrive), then back.
          for (const entry of fs.readdirSync(version))
            fs.renameSync(path.join(version, entry), path.join(aside, entry));
          await sleep(FAULT_MS);
          for (const entry of fs.readdirSync(aside)) fs.renameSync(path.join(aside, entry), path.join(version, entry));
          await sleep(FAULT_MS / 2);
        } finally {
          stopped = true;
        }
      };
      try {
        await Promise.all([faults(), ...Array.from({ length: CLIENTS }, sendUntilStopped)]);
        // The source said what it saw.
        await waitUntil(
          'the log names the fault',
          async () => server.output().includes('is no longer complete'),
          5_000,
        );
        assert.deepEqual(await client.states('m'), { 1: 'AVAILABLE' });
      } finally {
        await server.stop();
        dirs.cleanUp();
      }
      console.log(`file-system faults ${model.platform}: ${requests} requests, ${failures.length} failures`);
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${requests} requests failed`);
      assert.ok(requests > 50, `clients kept sending (${requests} requests)`);
    },
  );
}
