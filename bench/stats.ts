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

/**
 * One point's rounds as one: requests and time add up (req/s = all requests over all the timed
 * time), the mean (and the generator's CPU per request) is weighted by requests, and p50 and p99
 * are the mean of the rounds' own (the generators report percentiles, not samples).
 */
export function poolRounds(results: LatencySummary[]): LatencySummary {
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const seconds = results.reduce((sum, r) => sum + r.requests / r.throughput, 0);
  const mean = (pick: (r: LatencySummary) => number) => results.reduce((sum, r) => sum + pick(r), 0) / results.length;
  const byRequests = (pick: (r: LatencySummary) => number) =>
    results.reduce((sum, r) => sum + pick(r) * r.requests, 0) / requests;
  const clientCpu = results.every((r) => r.clientCpuUsPerRequest !== undefined)
    ? { clientCpuUsPerRequest: byRequests((r) => r.clientCpuUsPerRequest!) }
    : {};
  return {
    requests,
    throughput: requests / seconds,
    meanUs: byRequests((r) => r.meanUs),
    p50Us: mean((r) => r.p50Us),
    p99Us: mean((r) => r.p99Us),
    ...clientCpu,
  };
}

/** Rounds for display and JSON: 3 significant digits below 100, integers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  return Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3));
}
