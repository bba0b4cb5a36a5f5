/**
 * Hot swap under load: bin/duoserve serves one model (availability-preserving, the default
 * policy; --file_system_poll_wait_seconds=1) while clients send Predict requests without pause
 * over gRPC and 20 new versions replace each other on disk. Not one request may fail. Runs for
 * a TensorFlow and a PyTorch model; prints the counts.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { EXAMPLE_MODELS, EXPECTED_Y, ModelDirs, startDuoserve, waitForStates } from './lifecycle_helpers';

const SWAPS = 20;
const CLIENTS = 4;
/** The swaps must be done by then; the clients stop at the latest then too. */
const BUDGET_MS = 90_000;

for (const model of EXAMPLE_MODELS) {
  it(
    `hot swap under load: ${model.platform}, ${SWAPS} versions one after another, no failed request`,
    {
      timeout: BUDGET_MS + 60_000,
    },
    async () => {
      const dirs = new ModelDirs();
      const base = dirs.basePath('m');
      dirs.addVersion(base, model, 1);
      // Single-model mode: the platform is detected from the version directory.
      const flags = ['--model_name=m', `--model_base_path=${base}`, '--file_system_poll_wait_seconds=1'];
      const server = await startDuoserve(flags, 'm').catch((error) => {
        dirs.cleanUp();
        throw error;
      });
      const { client } = server;
      const started = Date.now();
      const deadline = started + BUDGET_MS;
      let stopped = false;
      let requests = 0;
      const failures: string[] = [];
      const servedBy = new Map<number, number>();

      const sendUntilStopped = async () => {
        while (!stopped && Date.now() < deadline) {
          requests++;
          try {
            const { version, y } = await client.predict({ name: 'm' });
            assert.deepEqual(y, EXPECTED_Y);
            servedBy.set(version, (servedBy.get(version) ?? 0) + 1);
          } catch (error) {
            failures.push(String((error as Error).message));
          }
        }
      };
      let swaps = 0;
      const swap = async () => {
        try {
          for (let version = 2; version <= SWAPS + 1; version++) {
            dirs.addVersion(base, model, version);
            await waitForStates(client, 'm', { [version]: 'AVAILABLE', [version - 1]: 'END' }, deadline - Date.now());
            dirs.removeVersion(base, version - 1);
            swaps++;
          }
        } finally {
          stopped = true;
        }
      };
      try {
        await Promise.all([swap(), ...Array.from({ length: CLIENTS }, sendUntilStopped)]);
      } finally {
        await server.stop();
        dirs.cleanUp();
      }
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `hot swap ${model.platform}: ${requests} requests (${(requests / seconds).toFixed(0)}/s), ` +
          `${failures.length} failures, ${swaps} swaps in ${seconds.toFixed(1)} s; ` +
          `versions served: ${[...servedBy.keys()].length}`,
      );
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${requests} requests failed`);
      assert.equal(swaps, SWAPS);
      assert.ok(servedBy.has(SWAPS + 1), 'the last version served');
    },
  );
}
