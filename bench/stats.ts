/** Latency figures from nanosecond samples. */

export interface LatencySummary {
  requests: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  /** Completed requests per second over the timed part (all loops together). */
  throughput: number;
  /** 95th percentile, where the samples or the generator's report give it. */
  p95Us?: number;
  /** CPU time the load generator spent per completed request, where it was measured. */
  clientCpuUsPerRequest?: number;
}

/** Nearest-rank percentile of ascending `sorted` (0 < p <= 1). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export function summarize(latenciesNs: number[], elapsedNs: number): LatencySummary {
  const sorted = Float64Array.from(latenciesNs).sort();
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    requests: sorted.length,
    p50Us: percentile(sorted, 0.5) / 1e3,
    p95Us: percentile(sorted, 0.95) / 1e3,
    p99Us: percentile(sorted, 0.99) / 1e3,
    meanUs: sorted.length ? total / sorted.length / 1e3 : NaN,
    throughput: elapsedNs > 0 ? sorted.length / (elapsedNs / 1e9) : NaN,
  };
}

/** Rounds for display and JSON: 3 significant digits below 100, integers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  return Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3));
}
