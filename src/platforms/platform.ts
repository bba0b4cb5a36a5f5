import type { Batching } from '../batching/batching_platform';
import type { FrameworkThreads } from '../config/thread_budget';
import type { Log } from '../core/log';
import type { ServableId } from '../core/servable_id';
import type { InferenceServable } from '../servables/inference_servable';
import type { ModelWarmupOptions } from './platform_loader';
import type { SessionConfig } from './tensorflow/session_config';

/** Settings every platform may read, from tensorflow_model_server's flags (or --platform_config_file). */
export interface PlatformOptions {
  savedModelTags: string[];
  /** The TensorFlow session's ConfigProto; absent: TensorFlow's defaults. */
  sessionConfig?: SessionConfig;
  /** --xla_cpu_compilation_enabled: XLA may JIT-compile (process-wide); absent leaves TensorFlow's default. */
  xlaCpuCompilationEnabled?: boolean;
  /** --remove_unused_fields_from_bundle_metagraph: keep only the MetaGraphDef's signature_def after a load. */
  removeUnusedFieldsFromBundleMetagraph?: boolean;
  /** --prefer_tflite_model: a version directory's model.tflite is served instead of its SavedModel. */
  preferTfLiteModel?: boolean;
  /** --num_tflite_pools: requests that may run at once on one TFLite model. */
  numTfLitePools?: number;
  /** libtorch's process-wide thread counts (src/config/thread_budget.ts); absent: libtorch's defaults. */
  torchThreads?: FrameworkThreads;
  /** Worker threads of each chain version's function-step pool, at most (the thread budget's). */
  chainStepThreads?: number;
  /** --enable_batching (or the platform config's batching_parameters): versions' runs are batched. */
  batching?: Batching;
}

/** The part of the warmup settings a platform may set for its own versions. */
export type PlatformWarmup = Pick<ModelWarmupOptions, 'enableModelWarmup' | 'numRequestIterations'>;

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
  /** Warmup settings of this platform's own config, over the server's (--platform_config_file). */
  readonly warmup?: PlatformWarmup;
  /**
   * True when `versionDir` holds a complete version of this platform: it is loaded at once.
   * A directory for which this is false is still loaded once it has stopped changing (see
   * src/core/settle_period.ts), so load() must say what is missing, in this platform's words.
   */
  isVersionDir(versionDir: string): boolean;
  /**
   * `log` takes what the load log should show about the version (the loader passes its own);
   * `id` is the version's servable id, when the lifecycle loads it (figures are labelled by it).
   */
  load(versionDir: string, log?: Log, id?: ServableId): Promise<LoadedServable>;
}
