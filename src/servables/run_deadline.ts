/**
 * Deadlines of model runs, on the clock the native run reads (process.hrtime(), CLOCK_MONOTONIC):
 * a wall-clock deadline (gRPC's) is turned into one once, when the request arrives.
 */

/** Now, in microseconds on process.hrtime()'s clock. */
export function monotonicMicros(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e6 + nanoseconds / 1e3;
}

/** The deadline `ms` milliseconds from now; undefined for none (0, negative or infinite). */
export function deadlineInMs(ms: number | undefined): number | undefined {
  if (ms === undefined || !(ms > 0) || !Number.isFinite(ms)) return undefined;
  return monotonicMicros() + ms * 1000;
}
