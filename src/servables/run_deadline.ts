/**
 * When a model run's caller stops waiting for it, in the forms the native run checks as it
 * starts: deadlines on the clock it reads (process.hrtime(), CLOCK_MONOTONIC; a wall-clock
 * deadline, gRPC's, is turned into one once, when the request arrives), and cancellation.
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

/** The native run's flag for `signal` (RunRequest.signal), set when it aborts; undefined without one. */
export function cancelFlagOf(signal: AbortSignal | undefined): CancelFlag | undefined {
  if (signal === undefined) return undefined;
  const flag = new Int32Array(1);
  if (signal.aborted) flag[0] = 1;
  else signal.addEventListener('abort', () => Atomics.store(flag, 0, 1), { once: true });
  return flag;
}
