/**
 * A bad .pt2 version never costs the good one: with an AOTInductor package serving as version 1,
 * a version 2 compiled for cuda fails to load with the reason in GetModelStatus, and version 1
 * keeps answering (ServerCore and the gRPC API in this process, TF-Serving's client requests).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { EXPECTED_Y, ModelDirs, startInProcess, waitUntil } from '../../server/lifecycle_helpers';
import { aotiModel, exampleModel } from './aoti_fixtures';

describe('AOTInductor packages in the model lifecycle', { timeout: 90_000 }, () => {
  it('keeps serving version 1 when version 2 was compiled for cuda', async () => {
    const dirs = new ModelDirs();
    const base = dirs.basePath('pt2');
    /** Copies a version directory into place atomically (a half-copied one could be loaded). */
    const addVersion = (from: string, version: number) => {
      const staging = path.join(dirs.root, `staging-${version}`);
      fs.cpSync(from, staging, { recursive: true });
      fs.renameSync(staging, path.join(base, String(version)));
    };
    addVersion(exampleModel('half_plus_two_pt2'), 1);
    const server = await startInProcess([{ name: 'pt2', base_path: base, model_platform: 'pytorch' }]);
    try {
      assert.deepEqual(await server.client.predict({ name: 'pt2' }), { version: 1, y: EXPECTED_Y });

      addVersion(aotiModel('cuda_device'), 2);
      await waitUntil('version 2 failed to load', async () => {
        const status = (await server.client.status({ name: 'pt2' })).find((entry) => entry.version === 2);
        return status?.state === 'END' || status;
      });
      const statuses = await server.client.status({ name: 'pt2' });
      const failed = statuses.find((entry) => entry.version === 2)!;
      assert.match(failed.errorMessage, /compiled for device 'cuda'.*on 'cpu' only/);
      assert.equal(statuses.find((entry) => entry.version === 1)?.state, 'AVAILABLE');
      assert.deepEqual(await server.client.predict({ name: 'pt2' }), { version: 1, y: EXPECTED_Y });
    } finally {
      await server.close();
      dirs.cleanUp();
    }
  });
});
