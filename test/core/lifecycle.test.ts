import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AspiredVersionsManager } from '../../src/core/aspired_versions_manager';
import { FileSystemSource } from '../../src/core/file_system_source';
import type { Loader } from '../../src/core/loader';
import { silentLog } from '../../src/core/log';
import { SourceAdapter } from '../../src/core/source_adapter';
import { connectSourceToTarget } from '../../src/core/target';
import { ServingError } from '../../src/errors/serving_error';
import { FakeLoader } from './fakes/fake_loader';

/** The whole chain: version directories -> paths -> fake loaders -> manager. */
it('serves the versions that appear in a directory and unloads the ones that go', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-lifecycle-'));
  try {
    fs.mkdirSync(path.join(root, '1'));
    const source = new FileSystemSource({
      servables: [{ servableName: 'm', basePath: root }],
      pollWaitSeconds: -1,
      log: silentLog,
    });
    const adapter = new SourceAdapter<string, Loader>((_, dir) => new FakeLoader(dir, { servable: dir }));
    const manager = new AspiredVersionsManager({ log: silentLog });
    connectSourceToTarget(adapter, manager);
    connectSourceToTarget(source, adapter);
    const states: string[] = [];
    manager.monitor.subscribe(({ id, state }) => states.push(`${state} ${id.version}`));

    await source.poll();
    await manager.monitor.waitForState({ name: 'm', version: 1 }, 'AVAILABLE', 2000);
    const handle = manager.getServableHandle<string>({ name: 'm' });
    assert.equal(handle.servable, path.join(root, '1'));
    handle.release();

    fs.mkdirSync(path.join(root, '2'));
    await source.poll();
    await manager.monitor.waitForState({ name: 'm', version: 1 }, 'END', 2000);
    const newer = manager.getServableHandle({ name: 'm' });
    assert.equal(newer.id.version, 2);
    newer.release();
    assert.ok(states.indexOf('AVAILABLE 2') < states.indexOf('UNLOADING 1'));

    fs.rmSync(path.join(root, '2'), { recursive: true });
    await source.poll();
    await manager.monitor.waitForState({ name: 'm', version: 1 }, 'AVAILABLE', 2000);
    await manager.monitor.waitForState({ name: 'm', version: 2 }, 'END', 2000);
    assert.deepEqual(manager.listAvailableServableIds(), [{ name: 'm', version: 1 }]);
    await source.stop();
    await manager.shutdown();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

/**
 * A version directory its platform does not recognise, as TF-Serving's bad_half_plus_two (an
 * old export without the model file): once settled it is loaded anyway, fails with its
 * loader's error after its retries while the old version keeps serving, and loads once fixed.
 */
describe('an incomplete version directory', () => {
  const MODEL_FILE = 'model.file';
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-lifecycle-'));
    fs.mkdirSync(path.join(root, '1'));
    fs.writeFileSync(path.join(root, '1', MODEL_FILE), '');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  function setUp(retryIntervalMicros: number) {
    const clock = { now: 0 };
    const source = new FileSystemSource({
      servables: [
        { servableName: 'm', basePath: root, isVersionComplete: (dir) => fs.existsSync(path.join(dir, MODEL_FILE)) },
      ],
      pollWaitSeconds: -1,
      settleSeconds: 1,
      clock: () => clock.now,
      log: silentLog,
    });
    const loaders: FakeLoader[] = [];
    const adapter = new SourceAdapter<string, Loader>((_, dir) => {
      const loadCheck = () =>
        fs.existsSync(path.join(dir, MODEL_FILE))
          ? undefined
          : new ServingError('NOT_FOUND', `no ${MODEL_FILE} in ${dir}`);
      const loader = new FakeLoader(dir, { servable: dir, loadCheck });
      loaders.push(loader);
      return loader;
    });
    const manager = new AspiredVersionsManager({
      maxNumLoadRetries: 2,
      loadRetryIntervalMicros: retryIntervalMicros,
      log: silentLog,
    });
    connectSourceToTarget(adapter, manager);
    connectSourceToTarget(source, adapter);
    const pollAt = async (ms: number) => {
      clock.now = ms;
      await source.poll();
    };
    const servingVersion = () => {
      const handle = manager.getServableHandle({ name: 'm' });
      handle.release();
      return handle.id.version;
    };
    const attempts = (version: number) =>
      loaders.filter((loader) => loader.tag === path.join(root, String(version))).map((loader) => loader.loadAttempts);
    return { source, manager, pollAt, servingVersion, attempts };
  }

  it('fails with its error after its retries, the old version serving; loads once fixed in place', async () => {
    const { source, manager, pollAt, servingVersion, attempts } = setUp(1000);
    await pollAt(0);
    await manager.monitor.waitForState({ name: 'm', version: 1 }, 'AVAILABLE', 2000);
    fs.mkdirSync(path.join(root, '2'));
    fs.writeFileSync(path.join(root, '2', 'checkpoint'), '');
    await pollAt(100);
    assert.equal(
      manager.monitor.getState({ name: 'm', version: 2 }),
      undefined,
      'not attempted while it may be arriving',
    );
    await pollAt(1100);
    const end = await manager.monitor.waitForState({ name: 'm', version: 2 }, 'END', 2000);
    assert.deepEqual(
      [end.error?.code, end.error?.message],
      ['NOT_FOUND', `no ${MODEL_FILE} in ${path.join(root, '2')}`],
    );
    assert.deepEqual(attempts(2), [3], 'one attempt and --max_num_load_retries=2 retries');
    assert.equal(manager.monitor.getState({ name: 'm', version: 1 })?.state, 'AVAILABLE');
    assert.equal(servingVersion(), 1);

    fs.writeFileSync(path.join(root, '2', MODEL_FILE), '');
    await pollAt(1200);
    await pollAt(1300);
    await manager.monitor.waitForState({ name: 'm', version: 1 }, 'END', 2000);
    assert.equal(servingVersion(), 2);
    await source.stop();
    await manager.shutdown();
  });

  it('fixed while its load waits to retry: loaded again at once, not after the retry interval', async () => {
    const { source, manager, pollAt, servingVersion, attempts } = setUp(60_000_000);
    fs.mkdirSync(path.join(root, '2'));
    await pollAt(0);
    await pollAt(1000);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the first attempt fails; a retry waits a minute
    assert.deepEqual(attempts(2), [1]);
    fs.writeFileSync(path.join(root, '2', MODEL_FILE), '');
    await pollAt(1100);
    await pollAt(1200);
    await manager.monitor.waitForState({ name: 'm', version: 2 }, 'AVAILABLE', 2000);
    assert.deepEqual(attempts(2), [1, 1]);
    assert.equal(servingVersion(), 2);
    await source.stop();
    await manager.shutdown();
  });
});
