import type { Loader } from '../core/loader';
import type { LoadedServable, Platform } from './platform';

/** A Loader for one version directory of one platform. Cheap to create; load() does the work. */
export class PlatformLoader implements Loader {
  private loaded?: LoadedServable;

  constructor(
    private readonly platform: Platform,
    private readonly versionDir: string,
  ) {}

  async load(): Promise<void> {
    this.loaded = await this.platform.load(this.versionDir);
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
