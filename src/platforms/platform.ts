import type { Log } from '../core/log';
import type { InferenceServable } from '../servables/inference_servable';

/** Settings every platform may read, from tensorflow_model_server's flags. */
export interface PlatformOptions {
  savedModelTags: string[];
  intraOpThreads: number;
  interOpThreads: number;
  /** --prefer_tflite_model: a version directory's model.tflite is served instead of its SavedModel. */
  preferTfLiteModel?: boolean;
  /** --num_tflite_pools: requests that may run at once on one TFLite model. */
  numTfLitePools?: number;
}

/** A loaded version as the lifecycle holds it: something to serve, and to unload once. */
export interface LoadedServable extends InferenceServable {
  unload(): void;
}

/**
 * One `model_platform` of the platform config map: knows which version directories are its
 * own and how to load one. Adding a framework means one folder under src/platforms/ and one
 * entry in registry.ts.
 */
export interface Platform {
  readonly name: string;
  /**
   * True when loading a version waits for other servables to be AVAILABLE (chains wait for
   * their models): the composition root should start these loads after all the others.
   */
  readonly loadsAfterOthers?: boolean;
  /**
   * True when `versionDir` holds a complete version of this platform: it is loaded at once.
   * A directory for which this is false is still loaded once it has stopped changing (see
   * src/core/settle_period.ts), so load() must say what is missing, in this platform's words.
   */
  isVersionDir(versionDir: string): boolean;
  /** `log` takes what the load log should show about the version (the loader passes its own). */
  load(versionDir: string, log?: Log): Promise<LoadedServable>;
}
