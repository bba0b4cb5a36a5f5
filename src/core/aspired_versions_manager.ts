import { notFound, invalidArgument } from '../errors/serving_error';
import type { AspiredServableStateSnapshot, AspiredVersionPolicy } from './aspired_version_policy';
import { AvailabilityPreservingPolicy } from './availability_preserving_policy';
import type { Loader } from './loader';
import { LoaderHarness, type LoaderHarnessOptions } from './loader_harness';
import { consoleLog, type Log } from './log';
import type { Manager } from './manager';
import type { ServableData } from './servable_data';
import type { ServableHandle } from './servable_handle';
import type { ServableId } from './servable_id';
import type { ServableRequest } from './servable_request';
import type { ServableStateSnapshot } from './servable_state';
import { ServableStateMonitor } from './servable_state_monitor';
import type { AspiredVersionsCallback } from './source';
import type { Target } from './target';

export interface AspiredVersionsManagerOptions {
  /** Order of loads and unloads within a servable; default AvailabilityPreservingPolicy. */
  aspiredVersionPolicy?: AspiredVersionPolicy;
  /** Where every transition is published; default a new one (see `monitor`). */
  monitor?: ServableStateMonitor;
  /**
   * How many loads may run at once, across all servables (--num_load_threads). 0, the
   * default as in TF-Serving, runs them one at a time.
   */
  numLoadThreads?: number;
  /**
   * How many unloads may run at once, across all servables (--num_unload_threads). A version is
   * UNLOADING (no new handles) from when the policy picks it; it holds a slot while it waits for
   * its last handle and unloads. 0, the default as in TF-Serving, runs them one at a time.
   */
  numUnloadThreads?: number;
  /** Retries after a failed load, while the version stays aspired (--max_num_load_retries, default 5). */
  maxNumLoadRetries?: number;
  /** Wait between load attempts (--load_retry_interval_micros, default 1 minute; negative = none). */
  loadRetryIntervalMicros?: number;
  log?: Log;
}

/** Label name -> version, per servable name (ModelConfig.version_labels). */
export type VersionLabels = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** One servable's managed versions, and an aspired set that had to wait. */
interface ServableStream {
  readonly versions: Map<number, LoaderHarness>;
  /** Set while it re-aspires a version that is still unloading; applied once that ends. */
  pending?: ServableData<Loader>[];
}

/**
 * The end of the source chain: receives aspired Loaders for each servable (it is the target
 * of the aspired-versions callback), loads what is aspired and unloads what is not, in the
 * order its AspiredVersionPolicy allows, and hands out reference-counted handles on the
 * AVAILABLE versions. It owns every Loader it keeps and every version's state; states are
 * published on `monitor`.
 *
 * Everything runs on the JS thread: an aspired set is applied during the callback; loads and
 * unloads then run asynchronously, at most `numLoadThreads` loads and `numUnloadThreads`
 * unloads at a time. A version whose load fails (after its retries) ends END with the error
 * and stays so while it is aspired (it is tried again only once it has left the aspired set and
 * come back); it does not disturb the versions already serving.
 */
export class AspiredVersionsManager implements Manager, Target<Loader> {
  readonly monitor: ServableStateMonitor;
  private readonly policy: AspiredVersionPolicy;
  private readonly harnessOptions: LoaderHarnessOptions;
  private readonly loadSlots: Slots;
  private readonly unloadSlots: Slots;
  private readonly log: Log;
  private readonly streams = new Map<string, ServableStream>();
  private readonly inFlight = new Set<Promise<void>>();
  private labels: VersionLabels = new Map();
  private shuttingDown = false;

  constructor(options: AspiredVersionsManagerOptions = {}) {
    this.monitor = options.monitor ?? new ServableStateMonitor();
    this.policy = options.aspiredVersionPolicy ?? new AvailabilityPreservingPolicy();
    this.log = options.log ?? consoleLog;
    this.loadSlots = new Slots(Math.max(1, options.numLoadThreads ?? 0));
    this.unloadSlots = new Slots(Math.max(1, options.numUnloadThreads ?? 0));
    const monitor = this.monitor;
    this.harnessOptions = {
      maxNumLoadRetries: options.maxNumLoadRetries ?? 5,
      loadRetryIntervalMs: (options.loadRetryIntervalMicros ?? 60_000_000) / 1000,
      log: this.log,
      publish: (snapshot) => monitor.publish(snapshot),
    };
  }

  getAspiredVersionsCallback(): AspiredVersionsCallback<Loader> {
    return (servableName, versions) => this.setAspiredVersions(servableName, versions);
  }

  /** The aspired-versions callback itself: `versions` is the complete aspired set of `servableName`. */
  setAspiredVersions(servableName: string, versions: ServableData<Loader>[]): void {
    checkAspiredSet(servableName, versions);
    if (this.shuttingDown) {
      this.log('WARNING', `Ignoring aspired versions of ${servableName}: the manager is shutting down`);
      return;
    }
    let stream = this.streams.get(servableName);
    if (!stream) {
      stream = { versions: new Map() };
      this.streams.set(servableName, stream);
    }
    stream.pending = versions;
    this.manageState(servableName);
  }

  /** Replaces every servable's version labels (they take effect for the next request). */
  setVersionLabels(labels: VersionLabels): void {
    this.labels = new Map([...labels].map(([name, byLabel]) => [name, new Map(byLabel)]));
  }

  /** The version `label` names for `servableName`; INVALID_ARGUMENT if none, as TF-Serving. */
  resolveVersionLabel(servableName: string, label: string): number {
    const version = this.labels.get(servableName)?.get(label);
    if (version === undefined) throw invalidArgument(`Unrecognized servable version label: ${label}`);
    return version;
  }

  getServableHandle<T>(request: ServableRequest): ServableHandle<T> {
    if (request.version !== undefined && request.label !== undefined) {
      throw new Error('ServableRequest names both a version and a label');
    }
    const version =
      request.label !== undefined ? this.resolveVersionLabel(request.name, request.label) : request.version;
    const versions = this.streams.get(request.name)?.versions;
    const harness = version === undefined ? latestReady(versions) : versions?.get(version);
    if (harness?.state !== 'ready') {
      const described = version === undefined ? `Latest(${request.name})` : `Specific(${request.name}, ${version})`;
      throw notFound(`Servable not found for request: ${described}`);
    }
    return harness.acquire<T>();
  }

  listAvailableServableIds(): ServableId[] {
    return [...this.streams.values()].flatMap((stream) =>
      [...stream.versions.values()].filter((harness) => harness.state === 'ready').map((harness) => harness.id),
    );
  }

  getVersionStates(name: string): ServableStateSnapshot[] {
    return this.monitor.getVersionStates(name);
  }

  /**
   * Stops taking aspired versions and unloads every version (each after its last handle is
   * released); resolves when all loads and unloads have finished.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const [name, stream] of this.streams) {
      stream.pending = undefined;
      for (const harness of stream.versions.values()) if (harness.isAspired) harness.unaspire();
      this.manageState(name);
    }
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Brings one servable a step closer to its aspired set: forgets finished versions that are
   * no longer aspired, applies a pending aspired set, then starts every action the policy
   * allows. Runs again whenever a load or unload of this servable finishes.
   */
  private manageState(name: string): void {
    const stream = this.streams.get(name);
    if (!stream) return;
    forgetUnaspiredIdle(stream);
    if (stream.pending && !waitsForUnload(stream, stream.pending)) {
      this.applyAspiredSet(stream, stream.pending);
      stream.pending = undefined;
      forgetUnaspiredIdle(stream);
    }
    for (;;) {
      const action = this.policy.getNextAction(policySnapshots(stream));
      if (!action) break;
      const harness = stream.versions.get(action.id.version);
      if (!harness || action.id.name !== name)
        throw new Error(`policy chose an unmanaged version ${action.id.name}:${action.id.version}`);
      if (action.action === 'load') this.startLoad(name, harness);
      else this.startUnload(name, harness);
    }
    if (stream.versions.size === 0 && !stream.pending) this.streams.delete(name);
  }

  private applyAspiredSet(stream: ServableStream, versions: ServableData<Loader>[]): void {
    const aspired = new Set(versions.map((version) => version.id.version));
    for (const [version, harness] of stream.versions) {
      if (!aspired.has(version) && harness.isAspired) harness.unaspire();
    }
    for (const { id, data } of versions) {
      const harness = stream.versions.get(id.version);
      if (!harness) stream.versions.set(id.version, new LoaderHarness(id, data, this.harnessOptions));
      else if (!harness.isAspired) harness.reaspire();
      // else: already managed; the new data (a fresh Loader) is dropped.
    }
  }

  private startLoad(name: string, harness: LoaderHarness): void {
    harness.requestLoad();
    this.track(
      (async () => {
        await this.loadSlots.run(async () => {
          if (harness.isAspired) await harness.load();
          else harness.cancel();
        });
        this.manageState(name);
      })(),
    );
  }

  private startUnload(name: string, harness: LoaderHarness): void {
    harness.requestUnload();
    // The slot is taken once no request holds the version: a long request on one model must
    // not hold up the unloads of others.
    this.track(
      harness
        .released()
        .then(() => this.unloadSlots.run(() => harness.unload()))
        .then(() => this.manageState(name)),
    );
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }
}

function checkAspiredSet(name: string, versions: ServableData<Loader>[]): void {
  const seen = new Set<number>();
  for (const { id } of versions) {
    if (id.name !== name) throw new Error(`aspired version ${id.name}:${id.version} sent for servable ${name}`);
    if (!Number.isSafeInteger(id.version) || id.version < 0)
      throw new Error(`bad version number ${id.version} of ${name}`);
    if (seen.has(id.version)) throw new Error(`version ${id.version} of ${name} aspired twice in one set`);
    seen.add(id.version);
  }
}

/** Drops versions that are no longer aspired and have nothing left to do (a never-loaded one ends). */
function forgetUnaspiredIdle(stream: ServableStream): void {
  for (const [version, harness] of stream.versions) {
    if (harness.isAspired) continue;
    if (harness.state === 'new') harness.cancel();
    if (harness.isFinished) stream.versions.delete(version);
  }
}

/** A re-aspired version still unloading must finish before the set can apply (it then loads afresh). */
function waitsForUnload(stream: ServableStream, versions: ServableData<Loader>[]): boolean {
  return versions.some(({ id }) => stream.versions.get(id.version)?.state === 'unloading');
}

function policySnapshots(stream: ServableStream): AspiredServableStateSnapshot[] {
  return [...stream.versions.values()].map(({ id, state, isAspired }) => ({ id, state, isAspired }));
}

function latestReady(versions: Map<number, LoaderHarness> | undefined): LoaderHarness | undefined {
  let latest: LoaderHarness | undefined;
  for (const harness of versions?.values() ?? []) {
    if (harness.state === 'ready' && (!latest || harness.id.version > latest.id.version)) latest = harness;
  }
  return latest;
}

/** A counting semaphore over load (or unload) slots, first come first served. */
class Slots {
  private readonly waiting: Array<() => void> = [];

  constructor(private free: number) {}

  /** Runs `work` in a slot, once one is free. */
  async run(work: () => Promise<void>): Promise<void> {
    await this.acquire();
    try {
      await work();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
