/**
 * Per-step counters of every chain in the process: runs, failures, time spent. duoserve has no
 * monitoring export yet (TF-Serving's --monitoring_config_file / Prometheus endpoint), so this
 * small registry is read in-process (tests, a future exporter) through `snapshot()`.
 */
export interface StepCounters {
  /** Runs that finished, successfully or not. */
  runs: number;
  failures: number;
  /** Wall-clock microseconds over all runs. */
  totalUs: number;
}

export interface StepMetricsEntry extends StepCounters {
  /** The chain's base path name (its model name in the usual layout). */
  chain: string;
  step: string;
}

export class ChainMetrics {
  private readonly steps = new Map<string, StepMetricsEntry>();

  record(chain: string, step: string, microseconds: number, ok: boolean): void {
    const key = `${chain}\u0000${step}`;
    let entry = this.steps.get(key);
    if (!entry) {
      entry = { chain, step, runs: 0, failures: 0, totalUs: 0 };
      this.steps.set(key, entry);
    }
    entry.runs++;
    if (!ok) entry.failures++;
    entry.totalUs += microseconds;
  }

  snapshot(): StepMetricsEntry[] {
    return [...this.steps.values()].map((entry) => ({ ...entry }));
  }
}

/** The process-wide registry every chain records into. */
export const chainMetrics = new ChainMetrics();
