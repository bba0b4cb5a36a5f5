import * as path from 'node:path';
import type { Loader } from '../core/loader';
import type { Log } from '../core/log';
import type { ServableId } from '../core/servable_id';
import { recordLoadAttempt } from '../monitoring/load_metrics';
import { forgetModelMemory, recordModelMemory, residentBytes } from '../monitoring/model_memory';
import { replayWarmup, WARMUP_FILE } from '../servables/warmup/replay_warmup';
import type { WarmupReplayers } from '../servables/warmup/warmup_replayer';
import type { LoadedServable, Platform } from './platform';

/** Model warmup settings, from --enable_model_warmup and --num_request_iterations_for_warmup. */
export interface ModelWarmupOptions {
  /** Default true, as TF-Serving. */
  enableModelWarmup?: boolean;
  /** Times each warmup record is replayed; 0 or less (the default) means once, as TF-Serving. */
  numRequestIterations?: number;
  /** How to replay classify_log, regress_log, multi_inference_log records; predict_log is built in. */
  replayers?: WarmupReplayers;
}

export interface PlatformLoaderOptions extends ModelWarmupOptions {
  log: Log;
  /** The version's servable id, handed to the platform's load. */
  id?: ServableId;
}

/**
 * A Loader for one version directory of one platform. Cheap to create; load() does the work:
 * the platform loads the version (recorded as TensorFlow records a SavedModel load, whatever
 * the platform), then its warmup requests (if any) are replayed, and only then does load() resolve. A failed warmup unloads the version and fails the load.
 * A version loaded under its id gets a memory estimate (monitoring/model_memory.ts) until it unloads.
 */
export class PlatformLoader implements Loader {
  private loaded?: LoadedServable;
  private readonly options: PlatformLoaderOptions;

  /** `options` may be just the Log: warmup then runs with TF-Serving's defaults. */
  constructor(
    private readonly platform: Platform,
    private readonly versionDir: string,
    options: Log | PlatformLoaderOptions,
  ) {
    this.options = typeof options === 'function' ? { log: options } : options;
  }

  async load(): Promise<void> {
    const { log, id } = this.options;
    const rssBefore = residentBytes();
    const started = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    let loaded: LoadedServable;
    try {
      loaded = await this.platform.load(this.versionDir, log, this.options.id);
    } catch (error) {
      recordLoadAttempt(this.versionDir, false, elapsedMs() * 1000);
      throw error;
    }
    const ms = elapsedMs();
    recordLoadAttempt(this.versionDir, true, ms * 1000);
    log('INFO', `Loaded ${this.platform.name} model from ${this.versionDir} in ${ms.toFixed(1)} ms`);
    try {
      await this.warmUp(loaded);
    } catch (error) {
      loaded.unload();
      throw error;
    }
    this.loaded = loaded;
    if (id) recordModelMemory(id, rssBefore);
  }

  async unload(): Promise<void> {
    this.loaded?.unload();
    this.loaded = undefined;
    if (this.options.id) forgetModelMemory(this.options.id);
  }

  servable(): unknown {
    if (!this.loaded) throw new Error(`PlatformLoader: ${this.versionDir} is not loaded`);
    return this.loaded;
  }

  private async warmUp(loaded: LoadedServable): Promise<void> {
    const { log, enableModelWarmup = true, numRequestIterations = 0, replayers = new Map() } = this.options;
    if (!enableModelWarmup) return;
    const result = await replayWarmup(this.versionDir, loaded, { numRequestIterations, replayers });
    if (!result) {
      log('INFO', `No warmup data file found at ${path.join(this.versionDir, WARMUP_FILE)}`);
      return;
    }
    const times = result.iterations > 1 ? `, ${result.iterations} times each` : '';
    log(
      'INFO',
      `Finished warmup of ${this.versionDir}: ${result.records} records replayed${times} in ${result.ms.toFixed(1)} ms`,
    );
  }
}
