import type { Loader } from '../core/loader';
import type { Log } from '../core/log';
import type { LoadedServable, Platform } from './platform';

/** A Loader for one version directory of one platform. Cheap to create; load() does the work. */
export class PlatformLoader implements Loader {
  private loaded?: LoadedServable;

  constructor(
    private readonly platform: Platform,
    private readonly versionDir: string,
    private readonly log: Log,
  ) {}

  async load(): Promise<void> {
    const started = process.hrtime.bigint();
    this.loaded = await this.platform.load(this.versionDir);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.log('INFO', `Loaded ${this.platform.name} model from ${this.versionDir} in ${ms.toFixed(1)} ms`);
  }

  async unload(): Promise<void> {
    this.loaded?.unload();
    this.loaded = undefined;
  }

  servable(): unknown {
    if (!this.loaded) throw new Error(`PlatformLoader: ${this.versionDir} is not loaded`);
    return this.loaded;
  }
}
