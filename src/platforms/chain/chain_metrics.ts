/**
 * Per-step figures of every chain, in the Prometheus registry (src/monitoring/registry.ts):
 * each step run's wall time, failed ones included, by chain and step (a histogram in
 * microseconds with TF-Serving's latency buckets, whose _count is the runs), and the failures.
 */
import { Counter, Histogram } from 'prom-client';
import { exponentialBuckets, metricsRegistry } from '../../monitoring/registry';

const registers = [metricsRegistry];
const labelNames = ['chain', 'step'];

export const CHAIN_STEP_LATENCY = 'duoserve_chain_step_latency_microseconds';
export const CHAIN_STEP_FAILURES = 'duoserve_chain_step_failures_total';

const stepLatency = new Histogram({
  name: CHAIN_STEP_LATENCY,
  help: 'Wall time (in microseconds) of each chain step run, failed ones included, by chain and step',
  labelNames,
  // request_latency's buckets: Exponential(10, 1.8, 33).
  buckets: exponentialBuckets(10, 1.8, 33),
  registers,
});

const stepFailures = new Counter({
  name: CHAIN_STEP_FAILURES,
  help: 'Chain step runs that failed, by chain and step',
  labelNames,
  registers,
});

/** One finished run of `step` in `chain` (its base path name). */
export function recordChainStep(chain: string, step: string, microseconds: number, ok: boolean): void {
  const labels = { chain, step };
  stepLatency.observe(labels, microseconds);
  if (!ok) stepFailures.inc(labels);
}
