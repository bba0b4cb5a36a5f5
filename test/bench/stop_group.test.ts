// stopGroup waits for a benchmark server's whole process group, not only its leader: TorchServe's
// launcher exits on SIGTERM before its JVM, and a second start beside that JVM refuses to run.
import * as assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupAlive, stopGroup } from '../../bench/duoserve_process';

/** Starts `sh -c script` as a group leader; the group is killed after the test whatever happens. */
function spawnGroup(t: TestContext, script: string): ChildProcess {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  t.after(() => {
    if (groupAlive(child.pid!)) process.kill(-child.pid!, 'SIGKILL');
  });
  return child;
}

it('returns once a member that outlives the leader is gone too', async (t) => {
  // The leader ends at once on SIGTERM; its background member takes 0.5 s to shut down, as a JVM does.
  const child = spawnGroup(t, '(trap "sleep 0.5; exit 0" TERM; while :; do sleep 0.05; done) & wait');
  await sleep(300);
  assert.ok(groupAlive(child.pid!));
  await stopGroup(child);
  assert.equal(groupAlive(child.pid!), false);
});

it('ends a member that ignores SIGTERM with SIGKILL', async (t) => {
  const child = spawnGroup(t, '(trap "" TERM; while :; do sleep 0.05; done) & wait');
  await sleep(300);
  const started = Date.now();
  await stopGroup(child);
  assert.equal(groupAlive(child.pid!), false);
  assert.ok(Date.now() - started >= 5_000);
});
