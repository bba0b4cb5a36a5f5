/**
 * When a model run's caller stops waiting for it, in the forms the native run checks as it
 * starts: deadlines on the clock it reads (process.hrtime(), CLOCK_MONOTONIC; a wall-clock
 * deadline, gRPC's, is turned into one once, when the request arrives), and a cancel flag.
 */
import type { CancelFlag } from '../native/backend_addon';

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

/**
 * A cancel flag (RunRequest.cancelled), not set: one per request, shared by all its runs. A plain
 * Int32Array, not an AbortSignal: Node makes an AbortSignal and its listener in ~5 µs, a
 * request's whole budget of overhead; the flag costs ~0.1 µs and the native run reads it as is.
 */
export function newCancelFlag(): CancelFlag {
  return new Int32Array(1);
}

/** Sets `flag`: a run it goes with that is still queued never starts. */
export function cancelRuns(flag: CancelFlag): void {
  Atomics.store(flag, 0, 1);
}

export function isCancelled(flag: CancelFlag | undefined): boolean {
  return flag !== undefined && Atomics.load(flag, 0) !== 0;
}
