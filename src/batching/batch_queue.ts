/**
 * One queue of the SharedBatchScheduler (TF's shared_batch_scheduler.h Queue): a deque of
 * batches whose back one is open to new tasks and the others closed. Everything runs on the JS
 * thread; the scheduler takes batches from it when a batch slot is free.
 */
import { invalidArgument, ServingError } from '../errors/serving_error';

/** SharedBatchScheduler::QueueOptions, resolved (batching_parameters.ts makes them). */
export interface QueueOptions {
  /** max_batch_size (TF's input_batch_size_limit): no task may be larger. */
  maxBatchSize: number;
  /** How long the open batch waits for more tasks after its first one arrived. */
  batchTimeoutMicros: number;
  /** Batches, the open one included, that may wait; beyond them a task is refused UNAVAILABLE. */
  maxEnqueuedBatches: number;
  /** A task larger than the open batch's room is split across batches instead of closing it. */
  enableLargeBatchSplitting: boolean;
  /** The most rows a batch runs with: maxBatchSize unless splitting. */
  maxExecutionBatchSize: number;
}

/** What a queue holds: anything with a size in rows (its inputs' dim 0). */
export interface SizedTask {
  readonly size: number;
}

/**
 * Splits `task` into pieces: the first of `firstPieceSize` rows when that is > 0, then pieces of
 * `maxPieceSize`, the last the remainder (TF's split_input_task_func).
 */
export type SplitTask<T> = (task: T, firstPieceSize: number, maxPieceSize: number) => T[];

export class Batch<T extends SizedTask> {
  readonly tasks: T[] = [];
  size = 0;
  /** When its first task arrived, in microseconds on process.hrtime()'s clock. */
  startUs = 0;

  add(task: T, nowUs: number): void {
    if (this.tasks.length === 0) this.startUs = nowUs;
    this.tasks.push(task);
    this.size += task.size;
  }
}

export class BatchQueue<T extends SizedTask> {
  private readonly batches: Array<Batch<T>> = [new Batch<T>()];
  private closed = false;

  /**
   * `wake` asks the scheduler to look for work (it coalesces calls); `split` is required when
   * the options enable splitting.
   */
  constructor(
    readonly options: QueueOptions,
    readonly processBatch: (batch: Batch<T>) => Promise<void>,
    private readonly wake: () => void,
    private readonly split?: SplitTask<T>,
  ) {}

  /** Enqueues `task` or throws TF's INVALID_ARGUMENT (too large) or UNAVAILABLE (queue full). */
  schedule(task: T, nowUs: number): void {
    const { maxBatchSize, maxEnqueuedBatches, maxExecutionBatchSize } = this.options;
    if (this.closed) throw new ServingError('UNAVAILABLE', 'The batch scheduling queue is closed');
    if (task.size > maxBatchSize) {
      throw invalidArgument(`Task size ${task.size} is larger than maximum input batch size ${maxBatchSize}`);
    }
    let pieces = [task];
    if (this.options.enableLargeBatchSplitting) {
      const room = maxExecutionBatchSize - this.open.size;
      const capacity = (maxEnqueuedBatches - this.batches.length) * maxExecutionBatchSize + room;
      if (task.size > capacity) {
        throw new ServingError(
          'UNAVAILABLE',
          'The batch scheduling queue to which this task was submitted is full; task size is ' +
            `${task.size} but scheduling capacity is only ${capacity} (num_enqueued_batches=${this.batches.length}, ` +
            `max_enqueued_batches=${maxEnqueuedBatches}, open_batch_size=${this.open.size}, ` +
            `max_execution_batch_size=${maxExecutionBatchSize})`,
        );
      }
      if (task.size > room) pieces = this.split!(task, room, maxExecutionBatchSize);
    } else if (this.open.size + task.size > maxBatchSize && this.batches.length >= maxEnqueuedBatches) {
      throw new ServingError(
        'UNAVAILABLE',
        'The batch scheduling queue to which this task was submitted is full; currently ' +
          `${this.batches.length} batches enqueued and max_enqueued_batches is ${maxEnqueuedBatches}`,
      );
    }
    for (const piece of pieces) {
      if (this.open.size + piece.size > maxExecutionBatchSize) this.batches.push(new Batch<T>());
      this.open.add(piece, nowUs);
    }
    this.wake();
  }

  /**
   * The batch a free batch thread takes now, removed from the queue: the front one when it is
   * closed, else the open one once it is full, its timeout has passed or the queue is closed.
   */
  takeBatch(nowUs: number): Batch<T> | undefined {
    if (this.batches.length > 1) return this.batches.shift();
    const open = this.open;
    if (open.tasks.length === 0) return undefined;
    const due = open.size >= this.options.maxExecutionBatchSize || nowUs >= this.openBatchDueUs()! || this.closed;
    if (!due) return undefined;
    this.batches[0] = new Batch<T>();
    return open;
  }

  /** When the open batch times out, if it holds tasks; undefined otherwise. */
  openBatchDueUs(): number | undefined {
    const open = this.open;
    return open.tasks.length === 0 ? undefined : open.startUs + this.options.batchTimeoutMicros;
  }

  /** No task may join any more; what is queued runs at once. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Closed and nothing left to take: the scheduler forgets it. */
  get finished(): boolean {
    return this.closed && this.batches.length === 1 && this.open.tasks.length === 0;
  }

  /** Batches waiting, the open one included (what max_enqueued_batches bounds). */
  get numEnqueuedBatches(): number {
    return this.batches.length;
  }

  private get open(): Batch<T> {
    return this.batches[this.batches.length - 1];
  }
}
