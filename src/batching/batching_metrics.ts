/**
 * TF-Serving's batching_session figures (batching_session.cc, batching_util.h), under its names,
 * labels and buckets, and duoserve's per-queue figures (model, version, signature) under its own.
 */
import { Counter, Histogram } from 'prom-client';
import { exponentialBuckets, metricsRegistry, prometheusName } from '../monitoring/registry';

const SESSION = '/tensorflow/serving/batching_session';
/** Buckets::Exponential(1, 2, 14): 1 .. 8192 rows. */
const ROW_BUCKETS = exponentialBuckets(1, 2, 14);

const registers = [metricsRegistry];

/** Microseconds each task waited in its queue; TF-Serving's server labels every cell thread_pool_name "". */
export const queuingLatency = new Histogram({
  name: prometheusName(`${SESSION}/queuing_latency`),
  help: 'Distribution of wall time spent (in microseconds) in queuing',
  labelNames: ['thread_pool_name'],
  buckets: exponentialBuckets(100, 1.2, 52),
  registers,
});

/** One per batch run on the wrapped model. */
export const wrappedRunCount = new Counter({
  name: prometheusName(`${SESSION}/wrapped_run_count`),
  help: 'Total count of run calls on the wrapped session',
  registers,
});

/** Each input's dim 0, per request. */
export const inputBatchSize = new Histogram({
  name: prometheusName(`${SESSION}/input_batch_size`),
  help: 'Tracks the batch size distribution on the inputs.',
  buckets: ROW_BUCKETS,
  registers,
});

/** Rows of each batch run, padding included. */
export const processedBatchSize = new Histogram({
  name: prometheusName(`${SESSION}/processed_batch_size`),
  help: 'Tracks the batch size distribution on processing.',
  buckets: ROW_BUCKETS,
  registers,
});

/** Padding rows of each batch run, by its padded size. */
export const paddingSize = new Histogram({
  name: prometheusName(`${SESSION}/padding_size`),
  help: 'Tracks the padding size distribution on batches.',
  labelNames: ['execution_batch_size'],
  buckets: ROW_BUCKETS,
  registers,
});

const QUEUE_LABELS = ['model', 'version', 'signature'] as const;

/** duoserve's per-queue figures: one queue per model version and batching signature. */
export const queueDelay = new Histogram({
  name: 'duoserve_batching_queuing_delay_microseconds',
  help: 'Time each request waited in its batching queue, by queue',
  labelNames: QUEUE_LABELS,
  buckets: exponentialBuckets(100, 1.2, 52),
  registers,
});

export const queueBatchRows = new Histogram({
  name: 'duoserve_batching_batch_rows',
  help: 'Rows of each batch run (padding included), by queue',
  labelNames: QUEUE_LABELS,
  buckets: ROW_BUCKETS,
  registers,
});

export const queuePaddingRows = new Histogram({
  name: 'duoserve_batching_padding_rows',
  help: 'Padding rows of each batch run, by queue',
  labelNames: QUEUE_LABELS,
  buckets: ROW_BUCKETS,
  registers,
});

export type QueueLabels = Record<(typeof QUEUE_LABELS)[number], string>;
