/**
 * HandleReloadConfigRequest never wedges: a reload adding a model with nothing on disk to load
 * (its base path missing, a file, or without a version its policy wants) answers at once with
 * NOT_FOUND and the reason, and the reloads after it work as before. The config it carried stays
 * applied: the model loads once a version appears. Changing an existing model's base path to a
 * missing directory is accepted, as TF-Serving accepts it, and its loaded version keeps serving.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  EXAMPLE_MODELS,
  EXPECTED_Y,
  ModelDirs,
  rpcError,
  serverConfigMessage,
  startInProcess,
  waitForStates,
  type InProcessServer,
  type ModelConfigObject,
} from './lifecycle_helpers';

const [model] = EXAMPLE_MODELS;
/** Well above what an answered reload takes here, well below a hung one. */
const ANSWER_WITHIN_MS = 10_000;

describe('HandleReloadConfigRequest with models that have nothing to load', { timeout: 90_000 }, () => {
  const dirs = new ModelDirs();
  const entry = (name: string, basePath: string, extra: Partial<ModelConfigObject> = {}): ModelConfigObject => ({
    name,
    base_path: basePath,
    model_platform: model.platform,
    ...extra,
  });
  const m = dirs.basePath('m');
  dirs.addVersion(m, model, 1);
  let server: InProcessServer;
  before(async () => {
    server = await startInProcess([entry('m', m)]);
  });
  after(async () => {
    await server?.close();
    dirs.cleanUp();
  });

  const reloadFailure = async (models: ModelConfigObject[]) => {
    const started = Date.now();
    const error = await rpcError(server.client.reload(serverConfigMessage(models)));
    assert.ok(Date.now() - started < ANSWER_WITHIN_MS, `answered after ${Date.now() - started} ms`);
    return error;
  };

  it('a missing base path: NOT_FOUND at once, the next reload works, and the model loads once it appears', async () => {
    const later = path.join(dirs.root, 'models', 'later');
    const missing = await reloadFailure([entry('m', m), entry('later', later)]);
    assert.equal(missing.code, grpc.status.NOT_FOUND);
    assert.equal(
      missing.details,
      'FileSystemStoragePathSource encountered a filesystem access error: Could not find base path ' +
        `${later} for servable later with error NOT_FOUND: ${later} not found The config is applied: later will ` +
        'load once a version appears.',
    );
    const n = dirs.basePath('n');
    dirs.addVersion(n, model, 1);
    await server.client.reload(serverConfigMessage([entry('m', m), entry('later', later), entry('n', n)]));
    assert.deepEqual(await server.client.predict({ name: 'n' }), { version: 1, y: EXPECTED_Y });

    fs.mkdirSync(later, { recursive: true });
    dirs.addVersion(later, model, 3);
    await waitForStates(server.client, 'later', { 3: 'AVAILABLE' });
    assert.deepEqual(await server.client.predict({ name: 'later' }), { version: 3, y: EXPECTED_Y });
  });

  it('a base path that is a file, or holds no version the policy wants: NOT_FOUND at once', async () => {
    const file = path.join(dirs.root, 'a-file');
    fs.writeFileSync(file, 'not a directory');
    const notADirectory = await reloadFailure([entry('m', m), entry('file', file)]);
    assert.equal(notADirectory.code, grpc.status.NOT_FOUND);
    assert.match(notADirectory.details, /Could not find base path .*a-file for servable file with error ENOTDIR/);

    const empty = dirs.basePath('empty');
    const noVersions = await reloadFailure([entry('m', m), entry('empty', empty)]);
    assert.match(noVersions.details, /^No versions of servable empty found under base path /);
    const wrongVersion = dirs.basePath('wrong_version');
    dirs.addVersion(wrongVersion, model, 1);
    const specific = await reloadFailure([
      entry('m', m),
      entry('wrong_version', wrongVersion, { model_version_policy: { specific: { versions: [7] } } }),
    ]);
    assert.match(specific.details, /^Version 7 of servable wrong_version, requested as a 'specific' version/);
    // And the reload path still answers.
    await server.client.reload(serverConfigMessage([entry('m', m)]));
    assert.equal((await server.client.predict({ name: 'm' })).version, 1);
  });

  it("an existing model's base path changed to a missing directory: accepted, its version keeps serving", async () => {
    await server.client.reload(serverConfigMessage([entry('m', path.join(dirs.root, 'moved-away'))]));
    assert.deepEqual(await server.client.predict({ name: 'm' }), { version: 1, y: EXPECTED_Y });
    assert.deepEqual(await server.client.states('m'), { 1: 'AVAILABLE' });
  });
});
