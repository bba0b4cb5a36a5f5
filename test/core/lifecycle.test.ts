import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { it } from 'node:test';
import { AspiredVersionsManager } from '../../src/core/aspired_versions_manager';
import { FileSystemSource } from '../../src/core/file_system_source';
import type { Loader } from '../../src/core/loader';
import { silentLog } from '../../src/core/log';
import { SourceAdapter } from '../../src/core/source_adapter';
import { connectSourceToTarget } from '../../src/core/target';
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
