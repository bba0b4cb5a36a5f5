/**
 * TF-Serving's warmup figures (servables/tensorflow/saved_model_warmup_util.cc), under its
 * names, labels and buckets, for every platform's warmup: by the version directory and the
 * outcome as absl::Status::ToString() writes it ("OK", or "CODE: message").
 */
import { Counter, Histogram } from 'prom-client';
import type { ServingError } from '../errors/serving_error';
import { exponentialBuckets, metricsRegistry, prometheusName } from './registry';

const SERVING = '/tensorflow/serving';
const registers = [metricsRegistry];

const warmupLatency = new Histogram({
  name: prometheusName(`${SERVING}/model_warmup_latency`),
  help: 'Distribution of wall time (in microseconds) for warming up the model.',
  labelNames: ['model_path', 'status'],
  // Exponential(10, 1.8, 33): 10 µs .. ~20 minutes.
  buckets: exponentialBuckets(10, 1.8, 33),
  registers,
});

const warmupRecordsRead = new Counter({
  name: prometheusName(`${SERVING}/model_warmup_records_read`),
  help: 'Total number of warmup records read during model warmup.',
  labelNames: ['model_path', 'status'],
  registers,
});

/** One warmup of the version at `modelPath` that found its file: `failure` absent when it succeeded. */
export function recordWarmup(
  modelPath: string,
  failure: ServingError | undefined,
  latencyMicros: number,
  records: number,
): void {
  const labels = { model_path: modelPath, status: failure ? `${failure.code}: ${failure.message}` : 'OK' };
  warmupLatency.observe(labels, latencyMicros);
  warmupRecordsRead.inc(labels, records);
}
