/**
 * A chain keeps serving while one of its models moves to a new version under load: the
 * steps follow the model's latest version request by request, the old version unloads once
 * the requests holding it finish, and no request fails.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EXAMPLES,
  example,
  floatInput,
  floats,
  scratchDir,
  seeded,
  startChainServer,
  writeChain,
} from './chain_server';

const CHAIN = `
input { name: "x" }
step { name: "featurize" model: "features" inputs { key: "x" value: "request:x" } }
step { name: "rank" model: "ranker" inputs { key: "features" value: "featurize:features" } }
output { name: "score" source: "rank:score" }
`;

const CLIENTS = 4;

/** Publishes a copy of ranker version 1 as `version`, complete at once (renamed into place). */
function publishRanker(basePath: string, version: number): void {
  const staging = path.join(basePath, `.staging-${version}`);
  fs.cpSync(path.join(EXAMPLES, 'ranker', '1'), staging, { recursive: true });
  fs.renameSync(staging, path.join(basePath, String(version)));
}

describe('a chain while one of its models gets a new version', () => {
  it('serves every request, and moves to the new version', async () => {
    const scratch = scratchDir();
    const rankerPath = path.join(scratch, 'ranker');
    fs.mkdirSync(rankerPath);
    publishRanker(rankerPath, 1);
    const server = await startChainServer(
      [
        example('features', 'tensorflow'),
        { name: 'ranker', basePath: rankerPath, platform: 'pytorch' },
        writeChain(scratch, 'chain', { 1: CHAIN }),
      ],
      { scratch: [scratch], pollWaitSeconds: 0.2 },
    );
    try {
      await server.waitAvailable('chain');
      const x = floatInput(seeded(16 * 32), [16, 32]);
      const expected = floats((await server.run('chain', { inputs: new Map([['x', x]]) })).get('score'));

      let stop = false;
      let served = 0;
      const failures: string[] = [];
      const client = async () => {
        while (!stop) {
          try {
            const outputs = await server.run('chain', { inputs: new Map([['x', x]]) });
            assert.deepEqual(floats(outputs.get('score')), expected);
            served++;
          } catch (error) {
            failures.push((error as Error).message);
          }
        }
      };
      const clients = Array.from({ length: CLIENTS }, client);

      await sleep(200);
      const servedBefore = served;
      publishRanker(rankerPath, 2);
      await server.waitAvailable('ranker', 2);
      // The default policy keeps the latest version only: version 1 unloads once released.
      for (
        let waited = 0;
        server.manager.getVersionStates('ranker').find((s) => s.id.version === 1)?.state !== 'END';
        waited += 20
      ) {
        if (waited > 30_000)
          assert.fail(`ranker 1 never unloaded: ${JSON.stringify(server.manager.getVersionStates('ranker'))}`);
        await sleep(20);
      }
      const servedAtSwap = served;
      await sleep(200);
      stop = true;
      await Promise.all(clients);

      assert.deepEqual(failures, []);
      assert.ok(
        servedBefore > 0 && servedAtSwap > servedBefore && served > servedAtSwap,
        `${servedBefore} ${servedAtSwap} ${served}`,
      );
      const handle = server.manager.getServableHandle({ name: 'ranker' });
      assert.equal(handle.id.version, 2);
      handle.release();
    } finally {
      await server.stop();
    }
  });
});
