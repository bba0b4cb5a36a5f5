/**
 * The worker threads that run one chain version's function steps (step_worker.ts), a piscina
 * pool made when the version loads and destroyed when it unloads. One pool per version is what
 * makes hot reload exact: each thread imports the version's modules by absolute path into its
 * own module cache, so a new version (or a version directory fixed in place and loaded again)
 * never meets an old module, and an old version keeps its own until it unloads.
 *
 * A call copies each numeric input once into a buffer that is moved to the worker (a native
 * tensor's memory cannot be moved or shared with another thread), and moves each new output
 * back without a copy; an output that passes an input through comes back as that input. A call
 * past its time limit (or the request's deadline) is aborted: piscina terminates the thread,
 * which stops even a loop that never yields, and starts another for the next call.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import { ServingError } from '../../errors/serving_error';
import type { CancelFlag, HostTensorOutput, TensorSource } from '../../native/backend_addon';
import { isCancelled, monotonicMicros } from '../../servables/run_deadline';
import { DataType } from '../../tensors/data_type';
import type { FunctionStepDefinition } from './chain_definition';
import type { CallTask, LoadTask, StepOutcome } from './step_worker';
import type { WireTensor } from './step_tensors';

/**
 * A tensor between chain steps: a model's host output (with its native handle), or a function
 * step's output (JavaScript memory, no handle until something native needs one).
 */
export type StepTensor = Omit<HostTensorOutput, 'handle'> & { handle?: HostTensorOutput['handle'] };

/** A module's top-level code gets this long to run when the version loads. */
const LOAD_TIME_LIMIT_MS = 10_000;
/** An idle thread beyond the first exits after this long. */
const IDLE_TIMEOUT_MS = 30_000;

export interface StepCallOptions {
  deadlineUs?: number;
  cancelled?: CancelFlag;
}

export class StepPool {
  private readonly pool: Piscina;

  /** `threads`: the most calls of this version that run at once (the thread budget's). */
  constructor(
    private readonly versionDir: string,
    threads: number,
  ) {
    this.pool = new Piscina({
      filename: path.join(__dirname, 'step_worker.js'),
      name: 'runStepTask',
      minThreads: 1,
      maxThreads: Math.max(1, threads),
      idleTimeout: IDLE_TIMEOUT_MS,
    });
  }

  /**
   * Imports the step's module and finds its function, as every thread will; a missing file, a
   * syntax error, a throwing top level or a missing export fails with INVALID_ARGUMENT.
   */
  async load(step: FunctionStepDefinition): Promise<void> {
    const file = this.fileOf(step);
    if (!fs.existsSync(file)) throw new ServingError('INVALID_ARGUMENT', `module ${file} not found`);
    const task: LoadTask = { op: 'load', file, exportName: step.function.exportName };
    const outcome = await this.runTask(task, LOAD_TIME_LIMIT_MS, undefined, 'loading its module');
    if (!outcome.ok) throw new ServingError('INVALID_ARGUMENT', `cannot load ${file}: ${outcome.message}`);
  }

  /** One call of the step's function; errors are ServingErrors for the caller to name the step in. */
  async call(
    step: FunctionStepDefinition,
    inputs: ReadonlyMap<string, StepTensor>,
    { deadlineUs, cancelled }: StepCallOptions,
  ): Promise<Map<string, StepTensor>> {
    if (isCancelled(cancelled)) throw new ServingError('CANCELLED', 'the request was cancelled');
    const transferList: ArrayBuffer[] = [];
    const task: CallTask = {
      op: 'call',
      file: this.fileOf(step),
      exportName: step.function.exportName,
      inputs: [...inputs].map(([name, tensor]) => [name, toWire(tensor, transferList)]),
      outputs: [...step.function.outputs],
    };
    const outcome = await this.runTask(task, step.function.timeLimitMs, deadlineUs, 'its call', transferList);
    if (!outcome.ok) {
      const what = outcome.kind === 'threw' ? 'threw: ' : outcome.kind === 'load' ? 'cannot load its module: ' : '';
      throw new ServingError('INVALID_ARGUMENT', `${what}${outcome.message}`);
    }
    return new Map(
      outcome.outputs.map(([name, output]) => [
        name,
        'passThrough' in output ? inputs.get(output.passThrough)! : fromWire(output),
      ]),
    );
  }

  /** Stops the threads (calls still running fail); the version is unloading. */
  close(): void {
    this.pool.destroy().catch(() => {});
  }

  private fileOf(step: FunctionStepDefinition): string {
    return path.resolve(this.versionDir, step.function.module);
  }

  /**
   * Runs `task` for at most `limitMs` once a thread has taken it (waiting for a free thread does
   * not count: a call queued behind a stopped one is not stopped too), and until the request's
   * deadline at most, waiting included. Either way the thread is then terminated.
   */
  private async runTask(
    task: LoadTask | CallTask,
    limitMs: number,
    deadlineUs: number | undefined,
    what: string,
    transferList: ArrayBuffer[] = [],
  ): Promise<StepOutcome> {
    const leftMs = deadlineUs === undefined ? Infinity : (deadlineUs - monotonicMicros()) / 1000;
    if (leftMs <= 0) throw new ServingError('DEADLINE_EXCEEDED', 'the request deadline passed before the step started');
    const abort = new AbortController();
    let stoppedBy: 'limit' | 'deadline' | undefined;
    const stop = (by: 'limit' | 'deadline') => {
      stoppedBy ??= by;
      abort.abort();
    };
    const deadlineTimer = leftMs === Infinity ? undefined : setTimeout(() => stop('deadline'), leftMs);
    // The worker sets started[0] as it takes the task (a SharedArrayBuffer: no message, no copy).
    const started = new Int32Array(new SharedArrayBuffer(4));
    let limitTimer: NodeJS.Timeout | undefined;
    const wait = waitAsync(started, 0, 0);
    const startLimit = () => {
      if (!abort.signal.aborted) limitTimer = setTimeout(() => stop('limit'), limitMs);
    };
    if (wait.async) void (wait.value as Promise<string>).then(startLimit);
    else startLimit();
    try {
      return (await this.pool.run({ ...task, started }, { signal: abort.signal, transferList })) as StepOutcome;
    } catch (error) {
      if (!abort.signal.aborted)
        throw new ServingError('INTERNAL', `its worker thread failed: ${(error as Error).message}`);
      throw new ServingError(
        'DEADLINE_EXCEEDED',
        stoppedBy === 'deadline'
          ? `the request deadline passed during ${what}; its worker thread was stopped`
          : `${what} ran past the time limit of ${limitMs} ms; its worker thread was stopped`,
      );
    } finally {
      clearTimeout(deadlineTimer);
      clearTimeout(limitTimer);
      // Ends the wait when the task never started (aborted while queued).
      Atomics.notify(started, 0);
    }
  }
}

/** Atomics.waitAsync: in Node 20's V8, in TypeScript's lib only from ES2024. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** What a model step (the native run) takes from a step tensor: the handle, or its values. */
export function tensorSourceOf(tensor: StepTensor): TensorSource {
  if (tensor.handle !== undefined) return tensor.handle;
  if (tensor.strings !== undefined) return { dtype: DataType.DT_STRING, shape: tensor.shape, strings: tensor.strings };
  return { dtype: tensor.dtype, shape: tensor.shape, data: new Uint8Array(tensor.data!) };
}

/** The input as it crosses to the worker: numeric bytes copied once into a buffer moved there. */
function toWire(tensor: StepTensor, transferList: ArrayBuffer[]): WireTensor {
  if (tensor.dtype === DataType.DT_STRING)
    return { dtype: DataType.DT_STRING, shape: tensor.shape, strings: tensor.strings! };
  const data = tensor.data!.slice(0);
  transferList.push(data);
  return { dtype: tensor.dtype, shape: tensor.shape, data, byteOffset: 0, byteLength: data.byteLength };
}

function fromWire(tensor: WireTensor): StepTensor {
  if ('strings' in tensor) return { dtype: tensor.dtype, shape: tensor.shape, strings: tensor.strings.map(asBuffer) };
  // The worker sends whole buffers (step_worker.ts, ownedBytes).
  return { dtype: tensor.dtype, shape: tensor.shape, data: tensor.data };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
