/**
 * TF-Serving's per-request figures (servables/tensorflow/util.cc), under its names, labels and
 * buckets: every API request counted by model and status, the latency of the successful ones
 * by model, API and entry point, the time of each successful run in the model's runtime, and
 * the examples of each MultiInference request.
 */
import { Counter, Histogram } from 'prom-client';
import type { StatusCodeName } from '../errors/status_code';
import { exponentialBuckets, metricsRegistry, prometheusName } from './registry';

const SERVING = '/tensorflow/serving';
/** Buckets::Exponential(10, 1.8, 33): 10 µs .. ~20 minutes. */
const LATENCY_BUCKETS = exponentialBuckets(10, 1.8, 33);
const registers = [metricsRegistry];

const requestCount = new Counter({
  name: prometheusName(`${SERVING}/request_count`),
  help: 'The total number of requests.',
  labelNames: ['model_name', 'status'],
  registers,
});

const requestLatency = new Histogram({
  name: prometheusName(`${SERVING}/request_latency`),
  help: 'Distribution of wall time (in microseconds) for Tensorflow Serving request.',
  labelNames: ['model_name', 'API', 'entrypoint'],
  buckets: LATENCY_BUCKETS,
  registers,
});

const runtimeLatency = new Histogram({
  name: prometheusName(`${SERVING}/runtime_latency`),
  help: 'Distribution of wall time (in microseconds) for Tensorflow runtime.',
  labelNames: ['model_name', 'API', 'runtime'],
  buckets: LATENCY_BUCKETS,
  registers,
});

const exampleCounts = new Histogram({
  name: prometheusName(`${SERVING}/request_example_counts`),
  help: 'The number of tensorflow.Examples per request.',
  labelNames: ['model'],
  // Exponential(1, 2, 15): 1 .. 16384, then +Inf.
  buckets: exponentialBuckets(1, 2, 15),
  registers,
});

const exampleCountTotal = new Counter({
  name: prometheusName(`${SERVING}/request_example_count_total`),
  help: 'The total number of tensorflow.Examples.',
  labelNames: ['model'],
  registers,
});

/** Which server took the request (TF-Serving's entrypoint label). */
export type Entrypoint = 'GRPC' | 'REST';

/**
 * One finished API request (RecordModelRequestCount and RecordRequestLatency): counted by its
 * status; only a successful one's latency is recorded, as in TF-Serving.
 */
export function recordRequest(
  modelName: string,
  api: string,
  entrypoint: Entrypoint,
  status: StatusCodeName,
  latencyMicros: number,
): void {
  requestCount.inc({ model_name: modelName, status });
  if (status === 'OK') requestLatency.observe({ model_name: modelName, API: api, entrypoint }, latencyMicros);
}

/**
 * RecordRuntimeLatency: one successful run of a model (TF-Serving's session->Run, batching
 * queue included), by the request's model name, its API (Predict, Classify, Regress) and the
 * runtime that ran it (InferenceServable.runtime).
 */
export function recordRuntimeLatency(modelName: string, api: string, runtime: string, latencyMicros: number): void {
  runtimeLatency.observe({ model_name: modelName, API: api, runtime }, latencyMicros);
}

/** RecordRequestExampleCount: the examples of one MultiInference request. */
export function recordRequestExampleCount(modelName: string, count: number): void {
  exampleCounts.observe({ model: modelName }, count);
  exampleCountTotal.inc({ model: modelName }, count);
}
