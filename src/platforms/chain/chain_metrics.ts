/**
 * Per-step counters of every chain in the process: runs, failures, time spent, read in-process
 * (tests) through `snapshot()`. Not yet in the Prometheus registry (src/monitoring/registry.ts),
 * which --monitoring_config_file serves: that is issue 12's next step.
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
