import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logServableStateTransitions } from '../../src/core/servable_state_log';
import { ServableStateMonitor } from '../../src/core/servable_state_monitor';
import { ServingError } from '../../src/errors/serving_error';

const id = (version: number) => ({ name: 'm', version });

describe('ServableStateMonitor', () => {
  it('keeps the latest state of every version, newest first', () => {
    const monitor = new ServableStateMonitor();
    monitor.publish({ id: id(1), state: 'AVAILABLE' });
    monitor.publish({ id: id(3), state: 'LOADING' });
    monitor.publish({ id: id(2), state: 'END', error: new ServingError('INTERNAL', 'x') });
    assert.deepEqual(
      monitor.getVersionStates('m').map(({ id, state }) => [id.version, state]),
      [
        [3, 'LOADING'],
        [2, 'END'],
        [1, 'AVAILABLE'],
      ],
    );
    assert.equal(monitor.getState(id(2))?.error?.message, 'x');
    assert.deepEqual(monitor.getVersionStates('other'), []);
    assert.equal(monitor.getAllServableStates().length, 3);
  });

  it('tells subscribers until they unsubscribe', () => {
    const monitor = new ServableStateMonitor();
    const seen: string[] = [];
    const unsubscribe = monitor.subscribe(({ state }) => seen.push(state));
    monitor.publish({ id: id(1), state: 'START' });
    unsubscribe();
    monitor.publish({ id: id(1), state: 'LOADING' });
    assert.deepEqual(seen, ['START']);
  });

  it('waitForState resolves on the state and rejects on timeout', async () => {
    const monitor = new ServableStateMonitor();
    const waiting = monitor.waitForState(id(1), 'AVAILABLE', 1000);
    monitor.publish({ id: id(1), state: 'LOADING' });
    monitor.publish({ id: id(1), state: 'AVAILABLE' });
    assert.equal((await waiting).state, 'AVAILABLE');
    assert.equal((await monitor.waitForState(id(1), 'AVAILABLE', 1)).state, 'AVAILABLE');
    await assert.rejects(monitor.waitForState(id(1), 'END', 10), /did not reach END in 10 ms; it is AVAILABLE/);
  });

  it('waitUntilServablesReachState settles each request on the goal or END', async () => {
    const monitor = new ServableStateMonitor();
    const waiting = monitor.waitUntilServablesReachState([{ name: 'm' }, { name: 'n', version: 2 }], 'AVAILABLE');
    monitor.publish({ id: id(5), state: 'AVAILABLE' });
    monitor.publish({ id: { name: 'n', version: 2 }, state: 'END', error: new ServingError('INTERNAL', 'failed') });
    const [m, n] = await waiting;
    assert.deepEqual([m.state, n.state, n.error?.message], ['AVAILABLE', 'END', 'failed']);
  });

  it('logs transitions in TF-Serving words', () => {
    const monitor = new ServableStateMonitor();
    const lines: string[] = [];
    logServableStateTransitions(monitor, (severity, message) => lines.push(`${severity} ${message}`));
    monitor.publish({ id: id(1), state: 'AVAILABLE' });
    monitor.publish({ id: id(2), state: 'END', error: new ServingError('INTERNAL', 'boom') });
    assert.deepEqual(lines, [
      'INFO Successfully loaded servable version {name: m version: 1}',
      'ERROR Servable version {name: m version: 2} ended with error: boom',
    ]);
  });
});
