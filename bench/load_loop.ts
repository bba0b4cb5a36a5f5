/**
 * Closed-loop load: `concurrency` loops each await one call after another for a fixed time,
 * first a discarded warm-up, then the timed part whose every latency is recorded.
 */
import { LatencySummary, summarize } from './stats';

export interface LoadShape {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export type Call = () => Promise<unknown>;

async function loops(call: Call, concurrency: number, durationMs: number, latencies: number[] | null): Promise<bigint> {
  const started = process.hrtime.bigint();
  const end = started + BigInt(durationMs) * 1_000_000n;
  const loop = async () => {
    while (process.hrtime.bigint() < end) {
      const before = process.hrtime.bigint();
      await call();
      if (latencies) latencies.push(Number(process.hrtime.bigint() - before));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  // Calls still running at the deadline are counted, so elapsed runs until the last ends.
  return process.hrtime.bigint() - started;
}

export async function measure(call: Call, shape: LoadShape): Promise<LatencySummary> {
  await loops(call, shape.concurrency, shape.warmupMs, null);
  const latencies: number[] = [];
  const elapsed = await loops(call, shape.concurrency, shape.durationMs, latencies);
  return summarize(latencies, Number(elapsed));
}
