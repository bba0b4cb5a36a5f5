/**
 * A model version whose runs are batched: TF-Serving wraps the session (BatchingSession), duoserve
 * wraps the servable. One queue per TensorSignature of each signature, made at load; a run whose
 * tensors match none (an output_filter naming a subset of the outputs) gets a queue of its own on
 * first use, as TF-Serving's default scheduler creator makes one. Not batched: runs of a signature
 * that cannot batch (an AOTInductor input compiled for a fixed dim 0) and runs whose input bytes
 * cannot be read (the ordinary run then says why).
 */
import type { Log } from '../core/log';
import { ServingError, toServingError } from '../errors/serving_error';
import type { HostTensorOutput, NativeOutput, OutputEncoding, TensorCodec } from '../native/backend_addon';
import { encodeHostOutput } from '../native/output_encoding';
import type { CheckedRun } from '../servables/inference_servable';
import type { ModelServable } from '../servables/model_servable';
import { isCancelled, monotonicMicros } from '../servables/run_deadline';
import type { Signature, SignatureMap } from '../servables/signature';
import type { LoadedServable } from '../platforms/platform';
import type { Batch, BatchQueue, QueueOptions } from './batch_queue';
import * as metrics from './batching_metrics';
import type { MergeOptions } from './batching_parameters';
import { type BatchingTask, requestTask, type TaskOutcome, taskSplitter } from './batching_task';
import type { SharedBatchScheduler } from './shared_batch_scheduler';
import { describeTensorSignature, runKey, signatureKey } from './tensor_signature';
import { taskSize } from './task_size';

export interface BatchingServableOptions {
  scheduler: SharedBatchScheduler;
  queue: QueueOptions;
  merge: MergeOptions;
  codec: TensorCodec;
  /** Named in the load log. */
  versionDir: string;
  /** The per-queue figures' labels. */
  model: string;
  version: string;
  log: Log;
}

/** A signature's reason not to batch, or undefined when it can. */
export function unbatchableReason(signature: Signature, shapesChecked: boolean): string | undefined {
  if (!shapesChecked) return undefined;
  const fixed = [...signature.inputs].filter(([, spec]) => spec.shape !== null && (spec.shape[0] ?? -1) !== -1);
  if (fixed.length === 0) return undefined;
  return `its inputs ${fixed.map(([alias, spec]) => `${alias} (dim 0 = ${spec.shape![0]})`).join(', ')} were compiled for a fixed dim 0`;
}

export class BatchingServable implements LoadedServable {
  readonly signatures: SignatureMap;
  /** By run key; null: that signature's runs are not batched. */
  private readonly queues = new Map<string, BatchQueue<BatchingTask> | null>();

  constructor(
    private readonly model: ModelServable,
    private readonly options: BatchingServableOptions,
  ) {
    this.signatures = model.signatures;
    const batched: string[] = [];
    for (const [name, signature] of model.signatures) {
      const key = signatureKey(signature);
      if (this.queues.has(key)) continue; // one queue per TensorSignature
      const reason = unbatchableReason(signature, model.checksShapes);
      if (reason !== undefined)
        options.log('INFO', `${options.versionDir}: signature ${name} is not batched: ${reason}`);
      else batched.push(`${name} ${describeTensorSignature(signature)}`);
      this.queues.set(key, reason === undefined ? this.addQueue(name) : null);
    }
    options.log('INFO', `${options.versionDir}: batching ${batched.join('; ') || 'no signature'}`);
  }

  get runtime(): string {
    return this.model.runtime;
  }

  async runChecked(run: CheckedRun): Promise<Map<string, NativeOutput>> {
    const key = runKey(run);
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue =
        unbatchableReason(run.signature, this.model.checksShapes) === undefined
          ? this.addQueue(run.signatureName)
          : null;
      this.queues.set(key, queue);
    }
    if (queue === null) return this.model.runChecked(run);
    const size = taskSize(run, this.options.codec);
    if (size === undefined) return this.model.runChecked(run);
    for (let i = 0; i < run.checkedInputs.length; i++) metrics.inputBatchSize.observe(size);
    const enqueuedUs = monotonicMicros();
    return new Promise((resolve, reject) =>
      queue.schedule(requestTask(run, size, enqueuedUs, { resolve, reject }), enqueuedUs),
    );
  }

  /** Closes the queues (no run is left in them: a run holds a handle, which holds the version), then unloads. */
  unload(): void {
    for (const queue of this.queues.values()) queue?.close();
    this.model.unload();
  }

  private addQueue(signatureName: string): BatchQueue<BatchingTask> {
    const labels: metrics.QueueLabels = {
      model: this.options.model,
      version: this.options.version,
      signature: signatureName,
    };
    const split = this.options.queue.enableLargeBatchSplitting ? taskSplitter(this.options.codec) : undefined;
    return this.options.scheduler.addQueue<BatchingTask>(
      this.options.queue,
      (batch) => this.processBatch(batch, labels),
      split,
    );
  }

  /**
   * Runs one batch (TF's ProcessBatch): a task whose deadline passed while it waited is answered
   * DEADLINE_EXCEEDED and left out, one cancelled while it waited CANCELLED; the others run as one
   * (the native run checks both again as it starts); each is answered with its outputs or
   * the error that failed it alone; a batch that cannot run fails every task. Never rejects.
   */
  private async processBatch(batch: Batch<BatchingTask>, labels: metrics.QueueLabels): Promise<void> {
    const nowUs = monotonicMicros();
    const live: BatchingTask[] = [];
    for (const task of batch.tasks) {
      // TF-Serving's model server makes its batching sessions with thread_pool_name "".
      metrics.queuingLatency.labels('').observe(nowUs - task.enqueuedUs);
      metrics.queueDelay.labels(labels).observe(nowUs - task.enqueuedUs);
      if (task.deadlineUs !== undefined && task.deadlineUs <= nowUs) {
        task.answer(new ServingError('DEADLINE_EXCEEDED', 'Deadline Exceeded'));
      } else if (isCancelled(task.cancelled)) {
        task.answer(new ServingError('CANCELLED', 'Cancelled'));
      } else {
        live.push(task);
      }
    }
    const prepared = await Promise.allSettled(live.map((task) => task.prepare()));
    const tasks: BatchingTask[] = [];
    const runs: CheckedRun[] = [];
    prepared.forEach((result, i) => {
      if (result.status === 'rejected') {
        live[i].answer(toServingError(result.reason));
      } else {
        tasks.push(live[i]);
        runs.push(result.value);
      }
    });
    if (tasks.length === 0) return;
    // One encoding for the batch: the tasks' own when they agree, else tensors, encoded per task.
    const encoding = tasks.every((task) => task.encoding === tasks[0].encoding) ? tasks[0].encoding : 'host';
    try {
      const outcome = await this.model.runBatch(runs, encoding, this.options.merge);
      if (outcome.batchRows > 0) {
        metrics.wrappedRunCount.inc();
        metrics.processedBatchSize.observe(outcome.batchRows);
        metrics.paddingSize.labels(String(outcome.batchRows)).observe(outcome.paddingRows);
        metrics.queueBatchRows.labels(labels).observe(outcome.batchRows);
        metrics.queuePaddingRows.labels(labels).observe(outcome.paddingRows);
      }
      await Promise.all(
        tasks.map(async (task, i) => task.answer(await this.inEncoding(outcome.results[i], encoding, task.encoding))),
      );
    } catch (error) {
      const failure = toServingError(error);
      for (const task of tasks) task.answer(failure);
    }
  }

  private async inEncoding(outcome: TaskOutcome, from: OutputEncoding, to: OutputEncoding): Promise<TaskOutcome> {
    if (outcome instanceof ServingError || from === to) return outcome;
    try {
      const encoded = new Map<string, NativeOutput>();
      for (const [alias, output] of outcome) {
        encoded.set(alias, await encodeHostOutput(this.options.codec, output as HostTensorOutput, to));
      }
      return encoded;
    } catch (error) {
      return toServingError(error);
    }
  }
}
