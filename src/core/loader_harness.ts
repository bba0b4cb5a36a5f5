import { toServingError, type ServingError } from '../errors/serving_error';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Loader } from './loader';
import type { Log } from './log';
import { isServableError } from './servable_data';
import type { ServableHandle } from './servable_handle';
import { servableIdString, type ServableId } from './servable_id';
import type { ServableState, ServableStateSnapshot } from './servable_state';

/**
 * The manager's view of one version. 'loadRequested' means chosen for loading but waiting
 * for a load slot; 'disabled' means unloaded; 'error' means it failed to load (or unload).
 * 'disabled' and 'error' are final for this harness.
 */
export type LoaderHarnessState = 'new' | 'loadRequested' | 'loading' | 'ready' | 'unloading' | 'disabled' | 'error';

const PUBLIC_STATE: Record<LoaderHarnessState, ServableState> = {
  new: 'START',
  loadRequested: 'START',
  loading: 'LOADING',
  ready: 'AVAILABLE',
  unloading: 'UNLOADING',
  disabled: 'END',
  error: 'END',
};

export interface LoaderHarnessOptions {
  /** Retries after the first failed load() before giving up; 0 = a single attempt. */
  maxNumLoadRetries: number;
  /** Wait between attempts; negative = retry at once. */
  loadRetryIntervalMs: number;
  log: Log;
  /** Receives every public state change (the manager forwards it to the state monitor). */
  publish(snapshot: ServableStateSnapshot): void;
}

/**
 * One managed version: its Loader, its state, whether it is still aspired, and the handles
 * that hold it. The manager owns harnesses and calls requestLoad/load/unload as its policy
 * decides; the harness enforces the order (a wrong transition is a programming error and
 * throws) and turns every load/unload failure into the version's error, never a throw.
 */
export class LoaderHarness {
  private currentState: LoaderHarnessState = 'new';
  private currentError?: ServingError;
  private aspired = true;
  private loaded: unknown;
  private handles = 0;
  private whenUnreferenced?: () => void;
  private retryWait = new AbortController();
  private readonly loader?: Loader;

  constructor(
    readonly id: ServableId,
    data: Loader | ServingError,
    private readonly options: LoaderHarnessOptions,
  ) {
    if (isServableError(data)) {
      this.fail(data);
    } else {
      this.loader = data;
      this.options.publish(this.snapshot());
    }
  }

  get state(): LoaderHarnessState {
    return this.currentState;
  }

  get isAspired(): boolean {
    return this.aspired;
  }

  /** True once nothing more will happen to this harness. */
  get isFinished(): boolean {
    return this.currentState === 'disabled' || this.currentState === 'error';
  }

  snapshot(): ServableStateSnapshot {
    const state = PUBLIC_STATE[this.currentState];
    return this.currentError ? { id: this.id, state, error: this.currentError } : { id: this.id, state };
  }

  /** Aspired again before being unloaded: keeps serving (or loading) as it is. */
  reaspire(): void {
    this.aspired = true;
    this.retryWait = new AbortController();
  }

  /** No longer aspired: the policy may now unload it; a load waiting to retry gives up. */
  unaspire(): void {
    this.aspired = false;
    this.retryWait.abort();
  }

  requestLoad(): void {
    this.expectState('new', 'requestLoad');
    this.currentState = 'loadRequested';
  }

  /** Leaves a version that was never loaded: it ends (END, no error) without loading. */
  cancel(): void {
    if (this.currentState !== 'new' && this.currentState !== 'loadRequested') this.expectState('new', 'cancel');
    this.transition('disabled');
  }

  /** Loads, retrying while still aspired; ends 'ready' or 'error'. Never rejects. */
  async load(): Promise<void> {
    this.expectState('loadRequested', 'load');
    this.transition('loading');
    const loader = this.loader!;
    const attempts = 1 + Math.max(0, this.options.maxNumLoadRetries);
    for (let attempt = 1; ; attempt++) {
      try {
        await loader.load();
        break;
      } catch (thrown) {
        const error = toServingError(thrown);
        if (attempt >= attempts || !this.aspired || !(await this.waitBeforeRetry(error, attempt, attempts))) {
          return this.fail(error);
        }
      }
    }
    try {
      this.loaded = loader.servable();
    } catch (thrown) {
      await loader.unload().catch(() => undefined);
      return this.fail(toServingError(thrown));
    }
    this.transition('ready');
  }

  /** Stops new handles at once (UNLOADING); unload() then does the work, once the manager has a slot for it. */
  requestUnload(): void {
    this.expectState('ready', 'requestUnload');
    this.transition('unloading');
  }

  /** After requestUnload (no new handles): resolves once the last held handle is released. */
  released(): Promise<void> {
    this.expectState('unloading', 'released');
    if (this.handles === 0) return Promise.resolve();
    return new Promise<void>((resolve) => (this.whenUnreferenced = resolve));
  }

  /**
   * After requestUnload: waits for the last held handle to be released, then unloads; ends
   * 'disabled' or 'error'. Never rejects.
   */
  async unload(): Promise<void> {
    await this.released();
    this.loaded = undefined;
    try {
      await this.loader!.unload();
      this.transition('disabled');
    } catch (thrown) {
      this.fail(toServingError(thrown));
    }
  }

  /** A handle on the loaded servable; only while 'ready'. */
  acquire<T>(): ServableHandle<T> {
    this.expectState('ready', 'acquire');
    this.handles++;
    let released = false;
    return {
      id: this.id,
      servable: this.loaded as T,
      release: () => {
        if (released) throw new Error(`ServableHandle of ${servableIdString(this.id)} released twice`);
        released = true;
        if (--this.handles === 0) this.whenUnreferenced?.();
      },
    };
  }

  private async waitBeforeRetry(error: ServingError, attempt: number, attempts: number): Promise<boolean> {
    const delayMs = Math.max(0, this.options.loadRetryIntervalMs);
    this.options.log(
      'WARNING',
      `Loading servable version ${servableIdString(this.id)} failed (attempt ${attempt} of ${attempts}): ` +
        `${error.message}; retrying in ${delayMs} ms`,
    );
    try {
      await sleep(delayMs, undefined, { signal: this.retryWait.signal });
    } catch {
      return false; // no longer aspired
    }
    return this.aspired;
  }

  private transition(state: LoaderHarnessState): void {
    this.currentState = state;
    this.options.publish(this.snapshot());
  }

  private fail(error: ServingError): void {
    this.currentError = error;
    this.transition('error');
  }

  private expectState(state: LoaderHarnessState, operation: string): void {
    if (this.currentState !== state) {
      throw new Error(
        `LoaderHarness.${operation}() of ${servableIdString(this.id)} needs state ${state}, not ${this.currentState}`,
      );
    }
  }
}
