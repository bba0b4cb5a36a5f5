/**
 * BatchingParameters (session_bundle_config.proto) as TF-Serving reads them: from a text file
 * (--batching_parameters_file, a version's batching_params.pbtxt), unset fields taking the
 * defaults of TF's SharedBatchScheduler (QueueOptions / Options), checked at TF's moments:
 * - at server start (CreateBatchScheduler): num_batch_threads, in schedulerOptions();
 * - at each version's load (WrapSessionForBatching, then AddQueue), in queueOptions(): a bad
 *   value fails that version's load, with TF's INVALID_ARGUMENT messages.
 */
import type * as protobuf from 'protobufjs';
import { readTextProtoFile, readTextProtoFileAsync } from '../config/text_proto_file';
import { invalidArgument } from '../errors/serving_error';
import { Protos } from '../protos';
import type { QueueOptions } from './batch_queue';

/** A version directory's own parameters, read under --enable_per_model_batching_parameters. */
export const PER_MODEL_BATCHING_PARAMS_FILE = 'batching_params.pbtxt';

/** The fields as set; absent: unset (a wrapper field not given). */
export interface BatchingParameters {
  maxBatchSize?: number;
  batchTimeoutMicros?: number;
  maxEnqueuedBatches?: number;
  numBatchThreads?: number;
  threadPoolName?: string;
  allowedBatchSizes: number[];
  padVariableLengthInputs: boolean;
  enableLargeBatchSplitting?: boolean;
  maxExecutionBatchSize?: number;
}

/** TF's QueueOptions().input_batch_size_limit, the max_batch_size of unset parameters. */
export const DEFAULT_MAX_BATCH_SIZE = 1000;
const DEFAULT_MAX_ENQUEUED_BATCHES = 10;
const DEFAULT_THREAD_POOL_NAME = 'batch_threads';

/** What --enable_batching without --batching_parameters_file uses (server.cc). */
export const SERVER_DEFAULT_BATCHING_PARAMETERS: BatchingParameters = {
  threadPoolName: 'model_server_batch_threads',
  allowedBatchSizes: [],
  padVariableLengthInputs: false,
};

export function batchingParametersFromMessage(message: protobuf.Message): BatchingParameters {
  const object = Protos.BatchingParameters.toObject(message, { longs: Number });
  const wrapped = <T>(field: string): T | undefined => (object[field] as { value?: T } | undefined)?.value;
  // A wrapper given as `{}` holds its type's default.
  const number = (field: string) => (object[field] === undefined ? undefined : (wrapped<number>(field) ?? 0));
  return {
    maxBatchSize: number('max_batch_size'),
    batchTimeoutMicros: number('batch_timeout_micros'),
    maxEnqueuedBatches: number('max_enqueued_batches'),
    numBatchThreads: number('num_batch_threads'),
    threadPoolName: object.thread_pool_name === undefined ? undefined : (wrapped<string>('thread_pool_name') ?? ''),
    allowedBatchSizes: ((object.allowed_batch_sizes ?? []) as number[]).map(Number),
    padVariableLengthInputs: object.pad_variable_length_inputs === true,
    enableLargeBatchSplitting:
      object.enable_large_batch_splitting === undefined
        ? undefined
        : wrapped<boolean>('enable_large_batch_splitting') === true,
    maxExecutionBatchSize: number('max_execution_batch_size'),
  };
}

/** --batching_parameters_file, read at start-up. */
export function readBatchingParametersFile(file: string): BatchingParameters {
  return batchingParametersFromMessage(readTextProtoFile(Protos.BatchingParameters, file));
}

/** A version's batching_params.pbtxt; its errors reach GetModelStatus, so they quote nothing. */
export async function readBatchingParametersFileAsync(file: string): Promise<BatchingParameters> {
  return batchingParametersFromMessage(
    await readTextProtoFileAsync(Protos.BatchingParameters, file, { quoteText: false }),
  );
}

/** SharedBatchScheduler::Options. */
export interface SchedulerOptions {
  numBatchThreads: number;
  threadPoolName: string;
}

/**
 * The shared scheduler's options; throws at server start as CreateBatchScheduler does.
 * `defaultThreads` stands in for TF's port::MaxParallelism() (duoserve: libuv's pool size).
 */
export function schedulerOptions(params: BatchingParameters, defaultThreads: number): SchedulerOptions {
  const numBatchThreads = params.numBatchThreads ?? defaultThreads;
  if (numBatchThreads <= 0) throw invalidArgument(`num_batch_threads must be positive; was ${numBatchThreads}`);
  return { numBatchThreads, threadPoolName: params.threadPoolName ?? DEFAULT_THREAD_POOL_NAME };
}

/** How one version's runs are merged (BatchingSessionOptions). */
export interface MergeOptions {
  allowedBatchSizes: number[];
  padVariableLengthInputs: boolean;
}

/**
 * A queue's options and the merge options for one version; throws INVALID_ARGUMENT as that
 * version's load fails in TF-Serving (WrapSessionForBatching's check, then AddQueue's).
 */
export function queueOptions(params: BatchingParameters): { queue: QueueOptions; merge: MergeOptions } {
  const maxBatchSize = params.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  const allowed = params.allowedBatchSizes;
  if (allowed.length > 0 && allowed[allowed.length - 1] !== maxBatchSize) {
    throw invalidArgument(
      'Last entry in allowed_batch_sizes must match max_batch_size; last entry was ' +
        `${allowed[allowed.length - 1]}; expected ${maxBatchSize}`,
    );
  }
  const splitting = params.enableLargeBatchSplitting === true;
  const batchTimeoutMicros = params.batchTimeoutMicros ?? 0;
  let maxEnqueuedBatches = params.maxEnqueuedBatches ?? DEFAULT_MAX_ENQUEUED_BATCHES;
  // AddQueue's quiet rewrite: without splitting, 0 would make every queue refuse every task.
  if (maxEnqueuedBatches === 0 && !splitting) maxEnqueuedBatches = 1;
  // TF takes max_batch_size().value() here (0 when unset); the resolved limit is what it means.
  const maxExecutionBatchSize = splitting ? (params.maxExecutionBatchSize ?? maxBatchSize) : maxBatchSize;
  if (maxBatchSize <= 0) throw invalidArgument(`input_batch_size_limit must be positive; was ${maxBatchSize}`);
  if (batchTimeoutMicros < 0) {
    throw invalidArgument(`batch_timeout_micros must be non-negative; was ${batchTimeoutMicros}`);
  }
  if (maxEnqueuedBatches <= 0) {
    throw invalidArgument(`max_enqueued_batches must be positive; was ${maxEnqueuedBatches}`);
  }
  if (splitting && maxBatchSize < maxExecutionBatchSize) {
    throw invalidArgument(
      'When enable_large_batch_splitting is true, input_batch_size_limit must be greater than or equal to ' +
        'max_execution_batch_size.',
    );
  }
  return {
    queue: {
      maxBatchSize,
      batchTimeoutMicros,
      maxEnqueuedBatches,
      enableLargeBatchSplitting: splitting,
      maxExecutionBatchSize,
    },
    merge: { allowedBatchSizes: allowed, padVariableLengthInputs: params.padVariableLengthInputs },
  };
}

/** The start-up log line: the parameters in effect for `platforms`' versions, defaults resolved. */
export function describeBatchingParameters(
  params: BatchingParameters,
  scheduler: SchedulerOptions,
  perModel: boolean,
  platforms: string,
): string {
  const threads = `num_batch_threads ${scheduler.numBatchThreads}, thread_pool_name ${scheduler.threadPoolName}`;
  if (perModel) {
    return (
      `Batching ${platforms} model versions by their own ${PER_MODEL_BATCHING_PARAMS_FILE} (a version without ` +
      `one is not batched): ${threads}`
    );
  }
  const splitting = params.enableLargeBatchSplitting === true;
  const maxBatchSize = params.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  const fields = [
    `max_batch_size ${maxBatchSize}`,
    `batch_timeout_micros ${params.batchTimeoutMicros ?? 0}`,
    `max_enqueued_batches ${params.maxEnqueuedBatches ?? DEFAULT_MAX_ENQUEUED_BATCHES}`,
    threads,
    `allowed_batch_sizes [${params.allowedBatchSizes.join(', ')}]`,
    `pad_variable_length_inputs ${params.padVariableLengthInputs}`,
    `enable_large_batch_splitting ${splitting}`,
    ...(splitting ? [`max_execution_batch_size ${params.maxExecutionBatchSize ?? maxBatchSize}`] : []),
  ];
  return `Batching ${platforms} model versions: ${fields.join(', ')}`;
}
