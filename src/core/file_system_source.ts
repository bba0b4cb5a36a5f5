import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { FileSystemWatch } from './file_system_watch';
import { consoleLog, type Log } from './log';
import type { ServableData } from './servable_data';
import { DEFAULT_VERSION_POLICY, latestVersionCount, type ServableVersionPolicy } from './servable_version_policy';
import { directoryListing, settleSecondsFor } from './settle_period';
import type { AspiredVersionsCallback, Source } from './source';

/** One servable the source watches: a model_config_list entry, as far as storage goes. */
export interface ServableToMonitor {
  readonly servableName: string;
  /** The directory whose numeric subdirectories are the versions. */
  readonly basePath: string;
  /** Omitted: latest, one version. */
  readonly versionPolicy?: ServableVersionPolicy;
  /**
   * Whether a version directory holds everything a load needs (its platform knows which
   * files make it complete). A complete directory is aspired at once. An incomplete one may
   * still be arriving (a copy in progress): it is skipped until it is complete or until it
   * has stayed unchanged for the settle period, and then aspired anyway, so that its load
   * fails with the platform's own words. Omitted: every numeric directory is complete.
   */
  readonly isVersionComplete?: (versionPath: string) => boolean | Promise<boolean>;
}

export interface FileSystemSourceOptions {
  servables: readonly ServableToMonitor[];
  /**
   * --file_system_poll_wait_seconds: seconds between polls (default 1). 0 polls once, when
   * the callback is set; a negative value never polls (only explicit poll() calls do).
   */
  pollWaitSeconds?: number;
  /**
   * Also re-poll promptly when a base path changes (a chokidar watch), between the periodic
   * polls, which stay the ground truth. Only when pollWaitSeconds > 0. Default false.
   */
  watch?: boolean;
  /**
   * How long an incomplete version directory must stay unchanged before it is aspired
   * anyway; default settleSecondsFor(pollWaitSeconds) (see settle_period.ts).
   */
  settleSeconds?: number;
  /** Milliseconds now; default Date.now (tests pass a fake clock). */
  clock?: () => number;
  log?: Log;
}

/** An incomplete version directory the source is watching settle. */
interface Settling {
  /** directoryListing() as last seen, and when it was first seen so. */
  readonly listing: string;
  readonly since: number;
  /** Aspired although incomplete (settled); a change withdraws it. */
  readonly attempted: boolean;
}

/**
 * The file-system source (TF-Serving's FileSystemStoragePathSource): polls each servable's
 * base path, takes its numeric subdirectories as versions (anything else is ignored), applies
 * the servable's version policy and emits the aspired versions with each version directory's
 * path as data. It knows directories only, nothing of any framework.
 *
 * A servable's aspired set is emitted on the first poll after it is configured and then
 * whenever it changes. A base path that does not exist emits nothing (the versions already
 * aspired stay so), logs a warning and is tried again on the next poll; one that exists but
 * holds no versions emits an empty set, which unloads every version. A servable removed by
 * updateConfig() gets an empty set.
 *
 * An incomplete version directory (see ServableToMonitor.isVersionComplete) is aspired once its
 * listing (every entry's path, size and modification time) has stayed the same on every poll
 * for the settle period, so the manager's load attempts report what is wrong with it. If it
 * changes after that (an operator fixing it in place), it leaves the aspired set for one poll
 * at least, so that the manager forgets the failed attempt (it retries a version only once it
 * has left the aspired set and come back), and is aspired again once it is complete or has
 * settled again. A directory aspired while complete stays aspired if it becomes incomplete: its
 * version may be serving, and only a policy decision (a newer version, the directory removed,
 * the config changed) retires it.
 */
export class FileSystemSource implements Source<string> {
  private servables: readonly ServableToMonitor[];
  private callback?: AspiredVersionsCallback<string>;
  private readonly pollWaitSeconds: number;
  private readonly log: Log;
  /** Per servable name: what it emitted last, and what it last warned about. */
  private readonly emitted = new Map<string, ServableData<string>[]>();
  private readonly notes = new Map<string, Set<string>>();
  /** Per servable name: its incomplete version directories by path. */
  private readonly settling = new Map<string, Map<string, Settling>>();
  /** Per servable name: why its last poll found nothing it could load, nor anything settling. */
  private readonly idle = new Map<string, string>();
  private readonly settleMs: number;
  private readonly clock: () => number;
  private current?: Promise<void>;
  private next?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private watcher?: FileSystemWatch;
  private stopped = false;

  constructor(options: FileSystemSourceOptions) {
    this.servables = [...options.servables];
    checkServables(this.servables);
    this.pollWaitSeconds = options.pollWaitSeconds ?? 1;
    this.log = options.log ?? consoleLog;
    this.settleMs = 1000 * (options.settleSeconds ?? settleSecondsFor(this.pollWaitSeconds));
    this.clock = options.clock ?? Date.now;
    if (options.watch && this.pollWaitSeconds > 0) this.watcher = new FileSystemWatch(() => void this.poll(), this.log);
  }

  /** Starts polling (the first poll at once, unless pollWaitSeconds is negative). */
  setAspiredVersionsCallback(callback: AspiredVersionsCallback<string>): void {
    if (this.callback) throw new Error('FileSystemSource: the aspired-versions callback is already set');
    this.callback = callback;
    if (this.pollWaitSeconds < 0) return;
    void this.poll().then(() => this.schedulePoll());
    this.watcher?.watch(this.servables.map((servable) => servable.basePath));
  }

  /**
   * Replaces the set of servables (reconfiguration). Servables no longer listed get an empty
   * aspired set at once; the rest are polled at once.
   */
  updateConfig(servables: readonly ServableToMonitor[]): Promise<void> {
    checkServables(servables);
    const kept = new Set(servables.map((servable) => servable.servableName));
    this.servables = [...servables];
    for (const name of [...this.emitted.keys()]) {
      if (kept.has(name)) continue;
      this.emitted.delete(name);
      this.notes.delete(name);
      this.settling.delete(name);
      this.idle.delete(name);
      this.callback?.(name, []);
    }
    this.watcher?.watch(this.servables.map((servable) => servable.basePath));
    return this.callback ? this.poll() : Promise.resolve();
  }

  /**
   * Why the last poll of `name` found nothing to load and nothing on its way (its base path
   * missing, no version directory, none its policy wants); undefined when it found versions,
   * or directories that are settling.
   */
  nothingToLoad(name: string): string | undefined {
    return this.idle.get(name);
  }

  /** Polls now (after the poll in progress, if any); resolves once its emissions are made. */
  poll(): Promise<void> {
    if (this.current) {
      this.next ??= this.current.then(() => {
        this.next = undefined;
        return this.poll();
      });
      return this.next;
    }
    this.current = this.pollAll().finally(() => (this.current = undefined));
    return this.current;
  }

  /** Stops polling and watching; no emission happens afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.watcher?.close();
    await this.current;
  }

  private schedulePoll(): void {
    if (this.stopped || this.pollWaitSeconds <= 0) return;
    this.timer = setTimeout(() => void this.poll().then(() => this.schedulePoll()), this.pollWaitSeconds * 1000);
    this.timer.unref();
  }

  private async pollAll(): Promise<void> {
    for (const servable of this.servables) {
      if (this.stopped) return;
      const notes: string[] = [];
      const settling = new Map<string, Settling>();
      const versions = await this.aspiredVersions(servable, settling, notes);
      // The config may have changed while the disk was read: emit only for a current entry.
      if (this.stopped || !this.servables.includes(servable)) continue;
      if (versions) this.settling.set(servable.servableName, settling);
      if (versions === undefined || (versions.length === 0 && settling.size === 0)) {
        this.idle.set(
          servable.servableName,
          notes.join(' ') || `Servable ${servable.servableName} has no version to load`,
        );
      } else {
        this.idle.delete(servable.servableName);
      }
      this.logNew(servable.servableName, notes);
      if (versions) this.emitIfChanged(servable.servableName, versions);
    }
  }

  /**
   * The servable's aspired versions on disk now; undefined when its base path is missing.
   * Fills `settling` with the incomplete directories to keep watching.
   */
  private async aspiredVersions(
    servable: ServableToMonitor,
    settling: Map<string, Settling>,
    notes: string[],
  ): Promise<ServableData<string>[] | undefined> {
    const { servableName: name, basePath } = servable;
    const children = await versionDirectories(basePath, notes);
    if (typeof children === 'string') {
      // TF-Serving's words, whose file-system layer reports a missing path as "<path> not found".
      const cause = children === 'ENOENT' ? `NOT_FOUND: ${basePath} not found` : children;
      notes.push(
        'FileSystemStoragePathSource encountered a filesystem access error: ' +
          `Could not find base path ${basePath} for servable ${name} with error ${cause}`,
      );
      return undefined;
    }
    const policy = servable.versionPolicy ?? DEFAULT_VERSION_POLICY;
    const wanted = policy.kind === 'specific' ? new Set(policy.versions) : undefined;
    const limit = policy.kind === 'latest' ? latestVersionCount(policy) : Infinity;
    const aspired: ServableData<string>[] = [];
    for (const [version, child] of [...children].sort((a, b) => b[0] - a[0])) {
      if (aspired.length >= limit) break;
      if (wanted && !wanted.has(version)) continue;
      const versionPath = path.join(basePath, child);
      const id = { name, version };
      if (!(await this.shouldAspire(servable, id, versionPath, settling, notes))) continue;
      aspired.push({ id, data: versionPath });
    }
    for (const version of wanted ?? []) {
      if (!aspired.some(({ id }) => id.version === version)) {
        notes.push(
          `Version ${version} of servable ${name}, requested as a 'specific' version in its version ` +
            `policy, was not found in ${basePath}`,
        );
      }
    }
    if (children.size === 0) {
      notes.push(
        `No versions of servable ${name} found under base path ${basePath}. ` +
          `Did you forget to name your leaf directory as a number (eg. '/1/')?`,
      );
    }
    return aspired;
  }

  /**
   * Whether to aspire one version directory now: a complete one yes, unless it was attempted
   * while incomplete (then it has changed: withdrawn for this poll); an incomplete one once
   * settled, while it stays as it was.
   */
  private async shouldAspire(
    servable: ServableToMonitor,
    { name, version }: { name: string; version: number },
    versionPath: string,
    settling: Map<string, Settling>,
    notes: string[],
  ): Promise<boolean> {
    const previous = this.settling.get(name)?.get(versionPath);
    const where = `Version ${version} of servable ${name} at ${versionPath}`;
    const changed = `${where} changed after it was loaded while incomplete; loading it again once it is complete or settled`;
    const now = this.clock();
    if (await isComplete(servable, versionPath, notes)) {
      if (!previous?.attempted) return true;
      notes.push(changed);
      settling.set(versionPath, { listing: '', since: now, attempted: false });
      return false;
    }
    if (!previous?.attempted && this.aspiredLast(name, versionPath)) {
      // Aspired while complete, so perhaps loaded and serving: a file moved away, an rsync in
      // progress or a permission change does not retire it; a newer version, the directory's
      // removal or the config does.
      notes.push(
        `${where} is no longer complete (a file is missing or unreadable); it stays aspired, ` +
          'so a loaded version keeps serving',
      );
      return true;
    }
    const listing = await directoryListing(versionPath);
    const unchanged = previous?.listing === listing;
    if (previous?.attempted && !unchanged) {
      notes.push(changed);
      settling.set(versionPath, { listing, since: now, attempted: false });
      return false;
    }
    const since = unchanged ? previous.since : now;
    const settled = this.settleMs === 0 || (unchanged && (previous.attempted || now - since >= this.settleMs));
    settling.set(versionPath, { listing, since, attempted: settled });
    const period = this.settleMs === 0 ? '' : `, and has not changed for ${this.settleMs / 1000} s`;
    notes.push(
      settled
        ? `${where} is not complete${period}; loading it anyway, so that its error shows`
        : `${where} is not complete yet; loading it anyway once it has not changed for ${this.settleMs / 1000} s`,
    );
    return settled;
  }

  private emitIfChanged(name: string, versions: ServableData<string>[]): void {
    const key = (list: ServableData<string>[]) => JSON.stringify(list.map(({ id, data }) => [id.version, data]));
    const previous = this.emitted.get(name);
    if (previous !== undefined && key(previous) === key(versions)) return;
    this.emitted.set(name, versions);
    this.callback?.(name, versions);
  }

  /** Whether the last emission for `name` aspired `versionPath`. */
  private aspiredLast(name: string, versionPath: string): boolean {
    return this.emitted.get(name)?.some(({ data }) => data === versionPath) ?? false;
  }

  /** Logs each warning once, until its condition goes away and comes back. */
  private logNew(name: string, notes: string[]): void {
    const previous = this.notes.get(name);
    for (const note of notes) if (!previous?.has(note)) this.log('WARNING', note);
    this.notes.set(name, new Set(notes));
  }
}

/**
 * Version number -> directory name, for the numeric subdirectories of `basePath` (following
 * symbolic links); the error code when `basePath` cannot be read.
 */
async function versionDirectories(basePath: string, notes: string[]): Promise<Map<number, string> | string> {
  let entries;
  try {
    entries = await fs.readdir(basePath, { withFileTypes: true });
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
  const versions = new Map<number, string>();
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!/^\d+$/.test(entry.name)) continue;
    const version = Number(entry.name);
    if (!Number.isSafeInteger(version)) continue;
    if (!(await isDirectory(path.join(basePath, entry.name), entry.isDirectory(), entry.isSymbolicLink()))) continue;
    const earlier = versions.get(version);
    if (earlier !== undefined) {
      notes.push(
        `Duplicate version directories detected in ${basePath}. Version ${version} will be loaded from ` +
          `${entry.name}, ${earlier} will be ignored.`,
      );
    }
    versions.set(version, entry.name);
  }
  return versions;
}

/** The platform's completeness check; one that throws counts as "not complete", with a note. */
async function isComplete(servable: ServableToMonitor, versionPath: string, notes: string[]): Promise<boolean> {
  if (!servable.isVersionComplete) return true;
  try {
    return await servable.isVersionComplete(versionPath);
  } catch (error) {
    notes.push(`Checking whether ${versionPath} is a complete version failed: ${String(error)}`);
    return false;
  }
}

async function isDirectory(fullPath: string, isDirectory: boolean, isSymbolicLink: boolean): Promise<boolean> {
  if (isDirectory || !isSymbolicLink) return isDirectory;
  return fs.stat(fullPath).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
}

function checkServables(servables: readonly ServableToMonitor[]): void {
  const names = new Set<string>();
  for (const { servableName } of servables) {
    if (names.has(servableName)) throw new Error(`servable ${servableName} configured twice`);
    names.add(servableName);
  }
}
