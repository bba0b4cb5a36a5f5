/**
 * TF's SharedBatchScheduler, on the JS thread: one scheduler for every queue of every batched
 * version, running at most numBatchThreads batches at once, taking them from the queues in
 * round-robin order. A batch "runs" for as long as its processBatch promise is pending; the
 * model's work itself executes on libuv's pool (runBatch), so a slot stands for a pool thread.
 *
 * When to look for work: after each schedule() in a setImmediate, so that the requests arriving
 * in one event-loop turn join one batch (batch_timeout_micros 0: "as soon as a slot is free");
 * when a running batch ends; and, for an open batch waiting out batch_timeout_micros, on a
 * setTimeout rounded up to whole milliseconds (Node's timer resolution), re-armed if it fires
 * early.
 */
import { monotonicMicros } from '../servables/run_deadline';
import { type Batch, BatchQueue, type QueueOptions, type SizedTask, type SplitTask } from './batch_queue';
import type { SchedulerOptions } from './batching_parameters';

export class SharedBatchScheduler {
  private queues: Array<BatchQueue<SizedTask>> = [];
  private running = 0;
  /** Where the round robin resumes. */
  private nextQueue = 0;
  private pumpScheduled = false;
  private timer?: { dueUs: number; handle: NodeJS.Timeout };

  constructor(readonly options: SchedulerOptions) {}

  /** Batches running now. */
  get runningBatches(): number {
    return this.running;
  }

  /**
   * A new queue whose batches go to `processBatch`, which must settle (and never reject) once
   * the batch's tasks are answered. Close the queue when its version unloads.
   */
  addQueue<T extends SizedTask>(
    options: QueueOptions,
    processBatch: (batch: Batch<T>) => Promise<void>,
    split?: SplitTask<T>,
  ): BatchQueue<T> {
    const queue = new BatchQueue<T>(options, processBatch, () => this.schedulePump(), split);
    this.queues.push(queue as unknown as BatchQueue<SizedTask>);
    return queue;
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const nowUs = monotonicMicros();
    this.queues = this.queues.filter((queue) => !queue.finished);
    while (this.running < this.options.numBatchThreads) {
      const taken = this.takeNext(nowUs);
      if (!taken) break;
      this.running++;
      const done = () => {
        this.running--;
        this.pump();
      };
      taken.queue.processBatch(taken.batch).then(done, done);
    }
    this.armTimer(nowUs);
  }

  private takeNext(nowUs: number): { queue: BatchQueue<SizedTask>; batch: Batch<SizedTask> } | undefined {
    const count = this.queues.length;
    for (let k = 0; k < count; k++) {
      const index = (this.nextQueue + k) % count;
      const queue = this.queues[index];
      const batch = queue.takeBatch(nowUs);
      if (batch) {
        this.nextQueue = (index + 1) % count;
        return { queue, batch };
      }
    }
    return undefined;
  }

  /** A wake-up for the earliest open batch still waiting out its timeout, while a slot is free. */
  private armTimer(nowUs: number): void {
    let dueUs: number | undefined;
    if (this.running < this.options.numBatchThreads) {
      for (const queue of this.queues) {
        const due = queue.openBatchDueUs();
        if (due !== undefined && (dueUs === undefined || due < dueUs)) dueUs = due;
      }
    }
    if (this.timer && this.timer.dueUs === dueUs) return;
    if (this.timer) clearTimeout(this.timer.handle);
    this.timer = undefined;
    if (dueUs === undefined) return;
    const handle = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.max(1, Math.ceil((dueUs - nowUs) / 1000)),
    );
    this.timer = { dueUs, handle };
  }
}
