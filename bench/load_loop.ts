/**
 * Closed-loop load: `concurrency` loops each await one call after another for a fixed time,
 * first a discarded warm-up, then the timed part whose every latency is recorded.
 *
 * The paths compared with each other are timed in interleaved rounds (A B C, A B C, ...) and
 * each path's rounds pooled: on a shared, noisy machine a burst of someone else's work then
 * lands on every path alike instead of on whichever ran at that moment.
 */
import { LatencySummary, summarize } from './stats';

export type Call = () => Promise<unknown>;

export interface LoadShape {
  concurrency: number;
  /** Warm-up before a path's first round; later rounds warm up for a quarter of it. */
  warmupMs: number;
  /** Timed milliseconds per path in all, split evenly over the rounds. */
  durationMs: number;
  rounds: number;
}

async function loops(call: Call, concurrency: number, durationMs: number, latencies: number[] | null): Promise<number> {
  const started = process.hrtime.bigint();
  const end = started + BigInt(Math.round(durationMs * 1e6));
  // Boxed, so that a thrown undefined still stops the loops and is rethrown as it was.
  let failure: { error: unknown } | undefined;
  const loop = async () => {
    while (failure === undefined && process.hrtime.bigint() < end) {
      const before = process.hrtime.bigint();
      try {
        await call();
      } catch (error) {
        failure ??= { error };
        return;
      }
      if (latencies) latencies.push(Number(process.hrtime.bigint() - before));
    }
  };
  // On a failure every loop stops at its next call, so none runs on into the next path.
  await Promise.all(Array.from({ length: concurrency }, loop));
  if (failure !== undefined) throw failure.error;
  // Calls still running at the deadline are counted, so elapsed runs until the last ends.
  return Number(process.hrtime.bigint() - started);
}

/** One summary per call, in order; a call that throws gets its Error and leaves the rounds. */
export async function measureInterleaved(calls: Call[], shape: LoadShape): Promise<Array<LatencySummary | Error>> {
  const latencies = calls.map((): number[] => []);
  const elapsedNs = calls.map(() => 0);
  const failures: Array<Error | undefined> = calls.map(() => undefined);
  const rounds = Math.max(1, shape.rounds);
  for (let round = 0; round < rounds; round++) {
    for (const [i, call] of calls.entries()) {
      if (failures[i]) continue;
      try {
        await loops(call, shape.concurrency, round === 0 ? shape.warmupMs : shape.warmupMs / 4, null);
        elapsedNs[i] += await loops(call, shape.concurrency, shape.durationMs / rounds, latencies[i]);
      } catch (error) {
        failures[i] = error instanceof Error ? error : new Error(String(error));
      }
    }
  }
  return calls.map((_, i) => failures[i] ?? summarize(latencies[i], elapsedNs[i]));
}
