import { ServingError } from '../../../src/errors/serving_error';
import type { Loader } from '../../../src/core/loader';

export interface FakeLoaderOptions {
  /** What servable() returns once loaded; default `{ name, path }`-like tag given to the constructor. */
  servable?: unknown;
  loadDelayMs?: number;
  unloadDelayMs?: number;
  /** How many load() attempts reject before one succeeds; Infinity = every one. */
  failedLoads?: number;
  /** The error a failing load rejects with. */
  loadError?: ServingError;
  /** Asked by every load() attempt that has not failed already: an error it returns fails it. */
  loadCheck?: () => ServingError | undefined;
  /** When set, load() waits until finishLoad() is called (after its delay). */
  holdLoad?: boolean;
  /** Shared journal: "load 1", "loaded 1", "unload 1", "unloaded 1" entries, by tag. */
  journal?: string[];
}

/**
 * A Loader that loads nothing: configurable delay and failures, and a record of its calls.
 * It checks the Loader contract (no unload before a successful load, no concurrent calls)
 * and records violations in `violations` instead of throwing, so tests can assert on them.
 */
export class FakeLoader implements Loader {
  readonly calls: Array<'load' | 'unload'> = [];
  readonly violations: string[] = [];
  loadAttempts = 0;
  isLoaded = false;
  private busy = false;
  private releaseHold?: () => void;
  private holdReleased = false;

  constructor(
    readonly tag: string,
    private readonly options: FakeLoaderOptions = {},
  ) {}

  async load(): Promise<void> {
    this.enter('load');
    this.options.journal?.push(`load ${this.tag}`);
    this.loadAttempts++;
    try {
      await delay(this.options.loadDelayMs);
      if (this.options.holdLoad && !this.holdReleased)
        await new Promise<void>((resolve) => (this.releaseHold = resolve));
      if (this.loadAttempts <= (this.options.failedLoads ?? 0)) {
        throw this.options.loadError ?? new ServingError('NOT_FOUND', `fake load of ${this.tag} failed`);
      }
      const error = this.options.loadCheck?.();
      if (error) throw error;
      this.isLoaded = true;
      this.options.journal?.push(`loaded ${this.tag}`);
    } finally {
      this.busy = false;
    }
  }

  async unload(): Promise<void> {
    this.enter('unload');
    if (!this.isLoaded) this.violations.push('unload() without a successful load()');
    this.options.journal?.push(`unload ${this.tag}`);
    try {
      await delay(this.options.unloadDelayMs);
      this.isLoaded = false;
      this.options.journal?.push(`unloaded ${this.tag}`);
    } finally {
      this.busy = false;
    }
  }

  servable(): unknown {
    if (!this.isLoaded) this.violations.push('servable() while not loaded');
    return this.options.servable ?? { tag: this.tag };
  }

  /** Lets a held load() go on. */
  finishLoad(): void {
    this.holdReleased = true;
    this.releaseHold?.();
  }

  private enter(call: 'load' | 'unload'): void {
    if (this.busy) this.violations.push(`${call}() while another call runs`);
    this.busy = true;
    this.calls.push(call);
  }
}

function delay(ms: number | undefined): Promise<void> {
  return ms ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
