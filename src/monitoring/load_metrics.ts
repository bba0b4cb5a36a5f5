/**
 * TensorFlow's SavedModel load figures (tensorflow/cc/saved_model/loader.cc), under its names
 * and labels, for the load of every platform's version (PyTorch, TFLite and chains too): the
 * attempts by version directory and outcome, and the microseconds spent, summed.
 */
import { Counter } from 'prom-client';
import { metricsRegistry, prometheusName } from './registry';

const SAVED_MODEL = '/tensorflow/cc/saved_model';
const registers = [metricsRegistry];

const loadAttemptCount = new Counter({
  name: prometheusName(`${SAVED_MODEL}/load_attempt_count`),
  help: 'The number of times a SavedModel was successfully loaded.',
  labelNames: ['model_path', 'status'],
  registers,
});

/** A counter, not a histogram, as in TensorFlow: failed loads add their time too. */
const loadLatency = new Counter({
  name: prometheusName(`${SAVED_MODEL}/load_latency`),
  help: 'Latency in microseconds for SavedModels that were successfully loaded.',
  labelNames: ['model_path'],
  registers,
});

/** One load of the version at `modelPath`, as TensorFlow's LoadSavedModel records it. */
export function recordLoadAttempt(modelPath: string, ok: boolean, latencyMicros: number): void {
  loadAttemptCount.inc({ model_path: modelPath, status: ok ? 'success' : 'fail' });
  loadLatency.inc({ model_path: modelPath }, latencyMicros);
}
