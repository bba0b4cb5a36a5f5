/** The lifecycle benchmark's figures per model, and their text tables. */
import type { ServedModelRun } from './lifecycle_model';
import type { RawLoadTimes } from './raw_load_time';
import { round } from './stats';

export interface LifecycleFigures {
  model: string;
  platform: string;
  appear: { medianMs: number; minMs: number; maxMs: number; samples: number[] };
  oldEndMedianMs: number;
  rawLoad: { firstMs: number; firstIsFrameworkStart: boolean; warmMedianMs: number };
  /** What a poll-only source could take at most: one poll interval plus the warm raw load. */
  boundMs: number;
  rss: {
    baselineMiB: number;
    afterCycleMiB: number[];
    anonAfterCycleMiB: number[];
    /** After cycle 1 minus the baseline: one-time growth (first reload's lazy init) included. */
    firstCycleMiB: number;
    /** (after the last cycle - after the first) / (cycles - 1): the growth per load+unload. */
    perCycleMiB: number;
    anonPerCycleMiB: number;
    /** The same over the second half of the cycles only: near 0 when the growth levels off, not a leak. */
    lateCycleMiB: number;
    peakMiB: number;
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function lifecycleFigures(
  model: string,
  platform: string,
  served: ServedModelRun,
  raw: RawLoadTimes,
  firstIsFrameworkStart: boolean,
  pollWaitSeconds: number,
): LifecycleFigures {
  const appear = served.cycles.map((cycle) => cycle.appearMs);
  const rss = served.cycles.map((cycle) => cycle.memory.rssMiB);
  const anon = served.cycles.map((cycle) => cycle.memory.anonMiB);
  const slope = (values: number[], from = 0) =>
    values.length - 1 > from ? (values.at(-1)! - values[from]) / (values.length - 1 - from) : NaN;
  const warmMedianMs = median(raw.warmMs);
  return {
    model,
    platform,
    appear: { medianMs: median(appear), minMs: Math.min(...appear), maxMs: Math.max(...appear), samples: appear },
    oldEndMedianMs: median(served.cycles.map((cycle) => cycle.oldEndMs)),
    rawLoad: { firstMs: raw.firstMs, firstIsFrameworkStart, warmMedianMs },
    boundMs: pollWaitSeconds * 1000 + warmMedianMs,
    rss: {
      baselineMiB: served.baseline.rssMiB,
      afterCycleMiB: rss,
      anonAfterCycleMiB: anon,
      firstCycleMiB: rss[0] - served.baseline.rssMiB,
      perCycleMiB: slope(rss),
      anonPerCycleMiB: slope(anon),
      lateCycleMiB: slope(rss, Math.floor((rss.length - 1) / 2)),
      peakMiB: Math.max(served.baseline.peakMiB, ...served.cycles.map((cycle) => cycle.memory.peakMiB)),
    },
  };
}

const r = (value: number) => String(round(value));

export function appearanceTable(figures: LifecycleFigures[], pollWaitSeconds: number): string {
  const lines = [
    `model                 platform     rename->AVAILABLE median (min-max) ms   raw load warm | first ms   bound ${pollWaitSeconds} s poll + load   old END after`,
  ];
  for (const f of figures) {
    const first = `${r(f.rawLoad.firstMs)}${f.rawLoad.firstIsFrameworkStart ? '*' : ''}`;
    lines.push(
      `${f.model.padEnd(21)} ${f.platform.padEnd(12)} ${`${r(f.appear.medianMs)} (${r(f.appear.minMs)}-${r(f.appear.maxMs)})`.padEnd(39)}` +
        ` ${`${r(f.rawLoad.warmMedianMs)} | ${first}`.padEnd(25)} ${r(f.boundMs).padEnd(22)} ${r(f.oldEndMedianMs)} ms`,
    );
  }
  lines.push("  * includes the framework's one-time start in this process");
  return lines.join('\n');
}

export function memoryTable(figures: LifecycleFigures[]): string {
  const lines: string[] = [];
  for (const f of figures) {
    lines.push(
      `${f.model} (${f.platform}): baseline ${r(f.rss.baselineMiB)} MiB; after each cycle ` +
        `${f.rss.afterCycleMiB.map(r).join(' ')} MiB (anon ${f.rss.anonAfterCycleMiB.map(r).join(' ')})`,
    );
    lines.push(
      `  first cycle ${signed(f.rss.firstCycleMiB)} MiB; then ${signed(f.rss.perCycleMiB)} MiB per cycle ` +
        `(anon ${signed(f.rss.anonPerCycleMiB)}), ${signed(f.rss.lateCycleMiB)} over the second half; peak ${r(f.rss.peakMiB)} MiB`,
    );
  }
  return lines.join('\n');
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${r(value)}`;
}
