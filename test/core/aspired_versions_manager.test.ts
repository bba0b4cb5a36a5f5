import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AspiredVersionsManager, type AspiredVersionsManagerOptions } from '../../src/core/aspired_versions_manager';
import type { Loader } from '../../src/core/loader';
import { silentLog } from '../../src/core/log';
import { ResourcePreservingPolicy } from '../../src/core/resource_preserving_policy';
import type { ServableRequest } from '../../src/core/servable_request';
import { connectSourceToTarget } from '../../src/core/target';
import { ServingError } from '../../src/errors/serving_error';
import { FakeLoader } from './fakes/fake_loader';
import { FakeSource } from './fakes/fake_source';

const WAIT_MS = 2000;

function setUp(options: AspiredVersionsManagerOptions = {}) {
  const manager = new AspiredVersionsManager({ log: silentLog, ...options });
  const source = new FakeSource<Loader>();
  connectSourceToTarget(source, manager);
  /** Every published transition of `name`, as "STATE version". */
  const transitions: string[] = [];
  manager.monitor.subscribe(({ id, state }) => transitions.push(`${state} ${id.version}`));
  const available = (name: string, version: number) =>
    manager.monitor.waitForState({ name, version }, 'AVAILABLE', WAIT_MS);
  const ended = (name: string, version: number) => manager.monitor.waitForState({ name, version }, 'END', WAIT_MS);
  return { manager, source, transitions, available, ended };
}

/** The version a request is served by now (the handle is released at once). */
function servingVersion(manager: AspiredVersionsManager, request: ServableRequest): number {
  const handle = manager.getServableHandle(request);
  handle.release();
  return handle.id.version;
}

function servingError(call: () => unknown): ServingError {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof ServingError, `expected a ServingError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ServingError');
}

describe('AspiredVersionsManager', () => {
  it('loads aspired versions and hands out the latest AVAILABLE one by default', async () => {
    const { manager, source, available } = setUp({ numLoadThreads: 2 });
    source.aspire('m', [
      [1, new FakeLoader('1', { servable: 'one' })],
      [2, new FakeLoader('2', { servable: 'two' })],
    ]);
    await Promise.all([available('m', 1), available('m', 2)]);
    const latest = manager.getServableHandle<string>({ name: 'm' });
    assert.deepEqual([latest.id, latest.servable], [{ name: 'm', version: 2 }, 'two']);
    latest.release();
    const one = manager.getServableHandle<string>({ name: 'm', version: 1 });
    assert.equal(one.servable, 'one');
    one.release();
    assert.deepEqual(
      manager.listAvailableServableIds().sort((a, b) => a.version - b.version),
      [
        { name: 'm', version: 1 },
        { name: 'm', version: 2 },
      ],
    );
    assert.deepEqual(
      manager.getVersionStates('m').map(({ id, state }) => [id.version, state]),
      [
        [2, 'AVAILABLE'],
        [1, 'AVAILABLE'],
      ],
    );
    await manager.shutdown();
  });

  it('publishes START, LOADING, AVAILABLE, UNLOADING, END for a version', async () => {
    const { manager, source, transitions, available, ended } = setUp();
    const loader = new FakeLoader('1');
    source.aspire('m', [[1, loader]]);
    await available('m', 1);
    source.aspire('m', []);
    await ended('m', 1);
    assert.deepEqual(transitions, ['START 1', 'LOADING 1', 'AVAILABLE 1', 'UNLOADING 1', 'END 1']);
    assert.deepEqual(loader.calls, ['load', 'unload']);
    assert.deepEqual(loader.violations, []);
    assert.equal(manager.getVersionStates('m')[0].state, 'END');
    assert.deepEqual(manager.listAvailableServableIds(), []);
  });

  it('availability-preserving (default): the new version is AVAILABLE before the old one starts UNLOADING', async () => {
    const { manager, source, transitions, available, ended } = setUp();
    source.aspire('m', [[1, new FakeLoader('1')]]);
    await available('m', 1);
    source.aspire('m', [[2, new FakeLoader('2', { loadDelayMs: 30 })]]);
    // While 2 loads, 1 still serves.
    assert.equal(servingVersion(manager, { name: 'm' }), 1);
    await ended('m', 1);
    assert.ok(transitions.indexOf('AVAILABLE 2') < transitions.indexOf('UNLOADING 1'), transitions.join(', '));
    assert.equal(servingVersion(manager, { name: 'm' }), 2);
  });

  it('resource-preserving: the old version has finished unloading before the new one starts LOADING', async () => {
    const { manager, source, transitions, available } = setUp({ aspiredVersionPolicy: new ResourcePreservingPolicy() });
    source.aspire('m', [[1, new FakeLoader('1', { unloadDelayMs: 30 })]]);
    await available('m', 1);
    source.aspire('m', [[2, new FakeLoader('2')]]);
    await available('m', 2);
    assert.ok(transitions.indexOf('END 1') < transitions.indexOf('LOADING 2'), transitions.join(', '));
    assert.equal(servingVersion(manager, { name: 'm' }), 2);
  });

  it('a failing load ends with its error and leaves the serving version serving', async () => {
    const { manager, source, available, ended } = setUp({ maxNumLoadRetries: 0 });
    source.aspire('m', [[1, new FakeLoader('1')]]);
    await available('m', 1);
    const broken = new FakeLoader('2', { failedLoads: Infinity, loadError: new ServingError('DATA_LOSS', 'bad file') });
    source.aspire('m', [[2, broken]]);
    const end = await ended('m', 2);
    assert.equal(end.error?.code, 'DATA_LOSS');
    assert.equal(end.error?.message, 'bad file');
    assert.equal(manager.monitor.getState({ name: 'm', version: 1 })?.state, 'AVAILABLE');
    assert.equal(servingVersion(manager, { name: 'm' }), 1);
    // The same set again does not retry the failed version.
    source.aspire('m', [[2, new FakeLoader('2b')]]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(broken.loadAttempts, 1);
    assert.equal(manager.getVersionStates('m')[0].state, 'END');
  });

  it('a source error for a version becomes that version END state with the error', async () => {
    const { manager, source, ended } = setUp();
    source.aspire('m', [[4, new ServingError('INVALID_ARGUMENT', 'no platform for m')]]);
    const end = await ended('m', 4);
    assert.equal(end.error?.message, 'no platform for m');
    assert.match(servingError(() => manager.getServableHandle({ name: 'm' })).message, /Latest\(m\)/);
  });

  it('retries a failing load up to max_num_load_retries, then gives up', async () => {
    const { source, available, ended } = setUp({ maxNumLoadRetries: 2, loadRetryIntervalMicros: 1000 });
    const flaky = new FakeLoader('1', { failedLoads: 2 });
    source.aspire('m', [[1, flaky]]);
    await available('m', 1);
    assert.equal(flaky.loadAttempts, 3);
    const hopeless = new FakeLoader('2', { failedLoads: Infinity });
    source.aspire('n', [[2, hopeless]]);
    const end = await ended('n', 2);
    assert.equal(hopeless.loadAttempts, 3);
    assert.match(end.error?.message ?? '', /fake load of 2 failed/);
  });

  it('stops retrying a version that is no longer aspired', async () => {
    const { source, ended } = setUp({ maxNumLoadRetries: 5, loadRetryIntervalMicros: 60_000_000 });
    const failing = new FakeLoader('1', { failedLoads: Infinity });
    source.aspire('m', [[1, failing]]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    source.aspire('m', []);
    const end = await ended('m', 1);
    assert.ok(end.error);
    assert.equal(failing.loadAttempts, 1);
  });

  it('does not unload a version while a handle on it is held', async () => {
    const { manager, source, available, ended } = setUp();
    const loader = new FakeLoader('1');
    source.aspire('m', [[1, loader]]);
    await available('m', 1);
    const handle = manager.getServableHandle({ name: 'm', version: 1 });
    source.aspire('m', []);
    await manager.monitor.waitForState({ name: 'm', version: 1 }, 'UNLOADING', WAIT_MS);
    // No new handles while UNLOADING; the held one still works.
    servingError(() => manager.getServableHandle({ name: 'm', version: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(loader.calls, ['load']);
    handle.release();
    await ended('m', 1);
    assert.deepEqual(loader.calls, ['load', 'unload']);
    assert.throws(() => handle.release(), /released twice/);
  });

  it('answers NOT_FOUND with TF-Serving messages', async () => {
    const { manager, source, available } = setUp();
    let error = servingError(() => manager.getServableHandle({ name: 'nope' }));
    assert.equal(error.code, 'NOT_FOUND');
    assert.equal(error.message, 'Servable not found for request: Latest(nope)');
    source.aspire('m', [[1, new FakeLoader('1')]]);
    await available('m', 1);
    error = servingError(() => manager.getServableHandle({ name: 'm', version: 3 }));
    assert.equal(error.code, 'NOT_FOUND');
    assert.equal(error.message, 'Servable not found for request: Specific(m, 3)');
    assert.deepEqual(manager.getVersionStates('nope'), []);
  });

  it('resolves version labels, settable at run time', async () => {
    const { manager, source, available } = setUp();
    source.aspire('m', [
      [1, new FakeLoader('1')],
      [2, new FakeLoader('2')],
    ]);
    await Promise.all([available('m', 1), available('m', 2)]);
    manager.setVersionLabels(
      new Map([
        [
          'm',
          new Map([
            ['stable', 1],
            ['canary', 2],
            ['gone', 7],
          ]),
        ],
      ]),
    );
    assert.equal(servingVersion(manager, { name: 'm', label: 'stable' }), 1);
    assert.equal(servingVersion(manager, { name: 'm', label: 'canary' }), 2);
    const unknown = servingError(() => manager.getServableHandle({ name: 'm', label: 'beta' }));
    assert.equal(unknown.code, 'INVALID_ARGUMENT');
    assert.equal(unknown.message, 'Unrecognized servable version label: beta');
    const unavailable = servingError(() => manager.getServableHandle({ name: 'm', label: 'gone' }));
    assert.equal(unavailable.message, 'Servable not found for request: Specific(m, 7)');
    manager.setVersionLabels(new Map([['m', new Map([['stable', 2]])]]));
    assert.equal(servingVersion(manager, { name: 'm', label: 'stable' }), 2);
    assert.equal(manager.resolveVersionLabel('m', 'stable'), 2);
  });

  it('runs at most num_load_threads loads at once (0 = one at a time)', async () => {
    for (const [numLoadThreads, expected] of [
      [0, 1],
      [2, 2],
    ]) {
      const { source, available } = setUp({ numLoadThreads });
      const journal: string[] = [];
      source.aspire(
        'm',
        [1, 2, 3].map((v) => [v, new FakeLoader(String(v), { loadDelayMs: 10, journal })]),
      );
      await Promise.all([1, 2, 3].map((v) => available('m', v)));
      let running = 0;
      let most = 0;
      for (const entry of journal) {
        running += entry.startsWith('load ') ? 1 : -1;
        most = Math.max(most, running);
      }
      assert.equal(most, expected, journal.join(', '));
      assert.equal(journal[0], 'load 3', 'the highest version loads first');
    }
  });

  it('runs at most num_unload_threads unloads at once (0 = one at a time), across servables', async () => {
    for (const [numUnloadThreads, expected] of [
      [0, 1],
      [2, 2],
      [8, 4],
    ]) {
      const { source, available, ended } = setUp({ numLoadThreads: 4, numUnloadThreads });
      const journal: string[] = [];
      const versions = (name: string): Array<[number, FakeLoader]> =>
        [1, 2].map((v) => [v, new FakeLoader(`${name}${v}`, { unloadDelayMs: 20, journal })]);
      source.aspire('a', versions('a'));
      source.aspire('b', versions('b'));
      await Promise.all(['a', 'b'].flatMap((name) => [available(name, 1), available(name, 2)]));
      journal.length = 0;
      source.aspire('a', []);
      source.aspire('b', []);
      await Promise.all(['a', 'b'].flatMap((name) => [ended(name, 1), ended(name, 2)]));
      let running = 0;
      let most = 0;
      for (const entry of journal) {
        running += entry.startsWith('unload ') ? 1 : -1;
        most = Math.max(most, running);
      }
      assert.equal(most, expected, `num_unload_threads=${numUnloadThreads}: ${journal.join(', ')}`);
      assert.equal(journal.length, 8, journal.join(', '));
    }
  });

  it('a held handle on one servable does not hold up the unloads of others (one unload slot)', async () => {
    const { manager, source, available, ended } = setUp({ numUnloadThreads: 0 });
    const a = new FakeLoader('a1');
    const b = new FakeLoader('b1');
    source.aspire('a', [[1, a]]);
    source.aspire('b', [[1, b]]);
    await Promise.all([available('a', 1), available('b', 1)]);
    const held = manager.getServableHandle({ name: 'a', version: 1 });
    source.aspire('a', []);
    await manager.monitor.waitForState({ name: 'a', version: 1 }, 'UNLOADING', WAIT_MS);
    source.aspire('b', []);
    await ended('b', 1);
    assert.deepEqual(a.calls, ['load'], 'a waits for its handle');
    held.release();
    await ended('a', 1);
    assert.deepEqual(a.calls, ['load', 'unload']);
  });

  it('defers re-aspiring a version that is still unloading, then loads it afresh', async () => {
    const { manager, source, available } = setUp();
    source.aspire('m', [[1, new FakeLoader('1', { unloadDelayMs: 30 })]]);
    await available('m', 1);
    source.aspire('m', []);
    const again = new FakeLoader('1-again');
    source.aspire('m', [[1, again]]);
    await manager.monitor.waitForState({ name: 'm', version: 1 }, 'END', WAIT_MS);
    await available('m', 1);
    assert.deepEqual(again.calls, ['load']);
  });

  it('keeps serving a version re-aspired before its unload started', async () => {
    const { manager, source, available } = setUp();
    const one = new FakeLoader('1');
    source.aspire('m', [[1, one]]);
    await available('m', 1);
    const two = new FakeLoader('2', { holdLoad: true });
    source.aspire('m', [[2, two]]);
    source.aspire('m', [[1, new FakeLoader('1b')]]);
    two.finishLoad();
    await manager.monitor.waitForState({ name: 'm', version: 2 }, 'END', WAIT_MS);
    assert.deepEqual(one.calls, ['load']);
    assert.equal(servingVersion(manager, { name: 'm' }), 1);
  });

  it('shutdown() unloads every version', async () => {
    const { manager, source, available } = setUp();
    const loaders = [new FakeLoader('1'), new FakeLoader('2')];
    source.aspire('a', [[1, loaders[0]]]);
    source.aspire('b', [[2, loaders[1]]]);
    await Promise.all([available('a', 1), available('b', 2)]);
    await manager.shutdown();
    assert.deepEqual(
      loaders.map((loader) => loader.calls),
      [
        ['load', 'unload'],
        ['load', 'unload'],
      ],
    );
    assert.deepEqual(manager.listAvailableServableIds(), []);
  });

  it('treats a malformed aspired set as a programming error', () => {
    const { source } = setUp();
    assert.throws(
      () =>
        source.aspire('m', [
          [1, new FakeLoader('1')],
          [1, new FakeLoader('1')],
        ]),
      /aspired twice/,
    );
  });
});
