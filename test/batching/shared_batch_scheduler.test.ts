import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Batch, QueueOptions, SizedTask } from '../../src/batching/batch_queue';
import { pieceSizes } from '../../src/batching/batching_task';
import { SharedBatchScheduler } from '../../src/batching/shared_batch_scheduler';
import { ServingError } from '../../src/errors/serving_error';
import { monotonicMicros } from '../../src/servables/run_deadline';
import { prng } from '../seeded_random';

interface Task extends SizedTask {
  id: string;
}

const queueOptions = (options: Partial<QueueOptions> = {}): QueueOptions => ({
  maxBatchSize: 4,
  batchTimeoutMicros: 0,
  maxEnqueuedBatches: 10,
  enableLargeBatchSplitting: false,
  maxExecutionBatchSize: options.maxBatchSize ?? 4,
  ...options,
});

const now = monotonicMicros;
const turn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A scheduler whose batches "run" until released, recording what ran. */
function harness(numBatchThreads = 1) {
  const scheduler = new SharedBatchScheduler({ numBatchThreads, threadPoolName: 'test' });
  const ran: Array<{ queue: string; ids: string[]; size: number }> = [];
  const pending: Array<() => void> = [];
  const addQueue = (name: string, options: QueueOptions, split?: (t: Task, first: number, max: number) => Task[]) =>
    scheduler.addQueue<Task>(
      options,
      (batch: Batch<Task>) => {
        ran.push({ queue: name, ids: batch.tasks.map((task) => task.id), size: batch.size });
        return new Promise<void>((resolve) => pending.push(resolve));
      },
      split,
    );
  const releaseAll = async () => {
    await turn();
    while (pending.length > 0) {
      pending.splice(0).forEach((release) => release());
      await turn();
      await turn();
    }
  };
  return { scheduler, ran, pending, addQueue, releaseAll };
}

const task = (id: string, size: number): Task => ({ id, size });

describe('SharedBatchScheduler', () => {
  test('requests scheduled in one event-loop turn join one batch (batch_timeout_micros 0)', async () => {
    const { ran, addQueue, releaseAll } = harness();
    const queue = addQueue('q', queueOptions());
    queue.schedule(task('a', 1), now());
    queue.schedule(task('b', 2), now());
    assert.equal(ran.length, 0, 'nothing runs within the turn that scheduled it');
    await turn();
    assert.deepEqual(ran, [{ queue: 'q', ids: ['a', 'b'], size: 3 }]);
    await releaseAll();
  });

  test('a task that does not fit closes the open batch; closed batches run first, one per free slot', async () => {
    const { ran, pending, addQueue, releaseAll } = harness(1);
    const queue = addQueue('q', queueOptions());
    for (const [id, size] of [
      ['a', 3],
      ['b', 2],
      ['c', 2],
      ['d', 1],
    ] as const)
      queue.schedule(task(id, size), now());
    await turn();
    assert.deepEqual(
      ran.map((r) => r.ids),
      [['a']],
      'one slot: one batch at a time',
    );
    pending.shift()!();
    await turn();
    assert.deepEqual(
      ran.map((r) => r.ids),
      [['a'], ['b', 'c']],
    );
    await releaseAll();
    assert.deepEqual(
      ran.map((r) => r.ids),
      [['a'], ['b', 'c'], ['d']],
    );
  });

  test('an open batch waits out batch_timeout_micros unless it fills up', async () => {
    const { ran, addQueue, releaseAll } = harness(2);
    const queue = addQueue('q', queueOptions({ batchTimeoutMicros: 30_000 }));
    const started = now();
    queue.schedule(task('a', 1), now());
    await sleep(5);
    assert.equal(ran.length, 0, 'still waiting for company');
    queue.schedule(task('b', 1), now());
    while (ran.length === 0) await sleep(1);
    const waitedMs = (now() - started) / 1000;
    assert.deepEqual(ran[0].ids, ['a', 'b']);
    assert.ok(waitedMs >= 30 && waitedMs < 30 + 25, `the batch ran after ${waitedMs} ms`);
    // A full batch does not wait.
    for (const id of ['c', 'd', 'e', 'f']) queue.schedule(task(id, 1), now());
    const fullAt = now();
    while (ran.length === 1) await sleep(1);
    assert.deepEqual(ran[1].ids, ['c', 'd', 'e', 'f']);
    assert.ok((now() - fullAt) / 1000 < 15);
    await releaseAll();
  });

  test('a full queue sheds with UNAVAILABLE and does not grow; taken batches no longer count', async () => {
    const { ran, pending, addQueue, releaseAll } = harness(1);
    const queue = addQueue('q', queueOptions({ maxEnqueuedBatches: 2 }));
    queue.schedule(task('running', 4), now());
    await turn();
    assert.equal(ran.length, 1);
    queue.schedule(task('a', 4), now());
    queue.schedule(task('b', 4), now());
    assert.equal(queue.numEnqueuedBatches, 2);
    for (let i = 0; i < 100; i++) {
      assert.throws(
        () => queue.schedule(task(`shed${i}`, 1), now()),
        (error: ServingError) =>
          error.code === 'UNAVAILABLE' &&
          error.message ===
            'The batch scheduling queue to which this task was submitted is full; currently 2 batches enqueued ' +
              'and max_enqueued_batches is 2',
      );
    }
    assert.equal(queue.numEnqueuedBatches, 2, 'refused tasks leave nothing behind');
    pending.shift()!();
    await turn();
    queue.schedule(task('c', 4), now());
    await releaseAll();
    assert.deepEqual(
      ran.map((r) => r.ids),
      [['running'], ['a'], ['b'], ['c']],
    );
  });

  test('a task larger than max_batch_size is INVALID_ARGUMENT', () => {
    const { addQueue } = harness();
    const queue = addQueue('q', queueOptions({ maxBatchSize: 4 }));
    assert.throws(
      () => queue.schedule(task('big', 5), now()),
      (error: ServingError) =>
        error.code === 'INVALID_ARGUMENT' && error.message === 'Task size 5 is larger than maximum input batch size 4',
    );
  });

  test('splitting: a large task fills the open batch, then batches of max_execution_batch_size', async () => {
    const { ran, addQueue, releaseAll } = harness(4);
    const pieces: Array<[string, number, number]> = [];
    const split = (whole: Task, first: number, max: number): Task[] => {
      pieces.push([whole.id, first, max]);
      return pieceSizes(whole.size, first, max).map((size, i) => task(`${whole.id}${i}`, size));
    };
    const queue = addQueue(
      'q',
      queueOptions({
        maxBatchSize: 12,
        enableLargeBatchSplitting: true,
        maxExecutionBatchSize: 4,
        maxEnqueuedBatches: 3,
      }),
      split,
    );
    queue.schedule(task('a', 1), now());
    queue.schedule(task('b', 10), now());
    assert.deepEqual(pieces, [['b', 3, 4]]);
    assert.throws(
      () => queue.schedule(task('c', 2), now()),
      (error: ServingError) =>
        error.code === 'UNAVAILABLE' &&
        error.message ===
          'The batch scheduling queue to which this task was submitted is full; task size is 2 but scheduling ' +
            'capacity is only 1 (num_enqueued_batches=3, max_enqueued_batches=3, open_batch_size=3, ' +
            'max_execution_batch_size=4)',
    );
    queue.schedule(task('d', 1), now());
    await turn();
    assert.deepEqual(
      ran.map((r) => [r.ids, r.size]),
      [
        [['a', 'b0'], 4],
        [['b1'], 4],
        [['b2', 'd'], 4],
      ],
    );
    await releaseAll();
  });

  test('round robin over queues; at most num_batch_threads batches at once', async () => {
    const { scheduler, ran, pending, addQueue, releaseAll } = harness(2);
    const queues = ['x', 'y', 'z'].map((name) => addQueue(name, queueOptions({ maxBatchSize: 1 })));
    queues.forEach((queue, q) => {
      for (let i = 0; i < 3; i++) queue.schedule(task(`${'xyz'[q]}${i}`, 1), now());
    });
    await turn();
    assert.equal(scheduler.runningBatches, 2);
    assert.equal(ran.length, 2);
    while (pending.length > 0) {
      pending.shift()!();
      await turn();
      assert.ok(scheduler.runningBatches <= 2);
    }
    await releaseAll();
    assert.deepEqual(
      ran.map((r) => r.ids[0]),
      ['x0', 'y0', 'z0', 'x1', 'y1', 'z1', 'x2', 'y2', 'z2'],
    );
  });

  test('a closed queue runs what it holds at once, then is forgotten', async () => {
    const { ran, addQueue, releaseAll } = harness();
    const queue = addQueue('q', queueOptions({ batchTimeoutMicros: 10_000_000 }));
    queue.schedule(task('a', 1), now());
    await turn();
    assert.equal(ran.length, 0);
    queue.close();
    await turn();
    assert.deepEqual(
      ran.map((r) => r.ids),
      [['a']],
    );
    assert.throws(() => queue.schedule(task('b', 1), now()), { code: 'UNAVAILABLE' });
    await releaseAll();
    assert.ok(queue.finished);
  });

  test('seeded random load: every task runs exactly once, in order, batches within the limits', async () => {
    const seed = Number(process.env.DUOSERVE_FUZZ_SEED ?? 11);
    const random = prng(seed);
    const { ran, pending, addQueue, releaseAll } = harness(2);
    const queue = addQueue('q', queueOptions({ maxBatchSize: 8, maxEnqueuedBatches: 3 }));
    const accepted: string[] = [];
    for (let step = 0; step < 400; step++) {
      const action = random.int(3);
      if (action === 0 && pending.length > 0) pending.splice(random.int(pending.length), 1)[0]();
      else if (action === 1) await turn();
      else {
        const id = `t${step}`;
        try {
          queue.schedule(task(id, 1 + random.int(8)), now());
          accepted.push(id);
        } catch (error) {
          assert.equal((error as ServingError).code, 'UNAVAILABLE', `seed ${seed}`);
        }
      }
    }
    await releaseAll();
    assert.deepEqual(
      ran.flatMap((r) => r.ids),
      accepted,
      `seed ${seed}`,
    );
    assert.ok(
      ran.every((r) => r.size <= 8),
      `seed ${seed}`,
    );
  });
});
