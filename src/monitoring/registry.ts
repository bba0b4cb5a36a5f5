/**
 * The one registry of duoserve's figures (prom-client), under TF-Serving's Prometheus names where
 * TF-Serving has the figure: its monitoring names with every character outside [a-zA-Z0-9_]
 * replaced by ':' ("/tensorflow/serving/x" is ":tensorflow:serving:x"); duoserve's own figures
 * start with "duoserve_", the process's with prom-client's own names (process_*, nodejs_*).
 * src/server/rest/prometheus_route.ts serves `metricsRegistry`.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export const metricsRegistry = new Registry();

let collectingProcessMetrics = false;

/**
 * Adds prom-client's process figures (process_* and nodejs_*: CPU, resident memory, heap,
 * event-loop lag, GC, handles) to the registry; once, when a page serves it.
 */
export function collectProcessMetrics(): void {
  if (collectingProcessMetrics) return;
  collectingProcessMetrics = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

/** TF-Serving's Prometheus name of a TensorFlow monitoring metric name. */
export function prometheusName(monitoringName: string): string {
  return monitoringName.replace(/[^a-zA-Z0-9_]/g, ':');
}

/** tensorflow::monitoring::Buckets::Exponential(scale, growth, count): the bucket upper bounds. */
export function exponentialBuckets(scale: number, growth: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => scale * growth ** i);
}
