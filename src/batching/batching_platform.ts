/**
 * Batching as a platform decorator (as tflite_platform.ts wraps "tensorflow"): a model platform
 * whose versions load as ever, then serve through a BatchingServable. TF-Serving wraps each
 * SavedModel's session the same way (bundle_factory_util's WrapSessionForBatching). Not for
 * chains: a chain step calls predict() on its model, so it joins that model's queues.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { silentLog } from '../core/log';
import { loadTensorCodec } from '../native/backend_addon';
import type { Platform } from '../platforms/platform';
import { ModelServable } from '../servables/model_servable';
import {
  type BatchingParameters,
  PER_MODEL_BATCHING_PARAMS_FILE,
  queueOptions,
  readBatchingParametersFileAsync,
} from './batching_parameters';
import { BatchingServable } from './batching_servable';
import type { SharedBatchScheduler } from './shared_batch_scheduler';

/** What --enable_batching (or a platform config's legacy_config) asks for. */
export interface BatchingSettings {
  parameters: BatchingParameters;
  /** Each version's batching_params.pbtxt instead of `parameters`; a version without one is not batched. */
  perModel: boolean;
}

/** Batching in force: the settings and the scheduler every queue of these versions joins. */
export interface Batching extends BatchingSettings {
  scheduler: SharedBatchScheduler;
}

/** `platform` with its versions batched; as it is when `batching` is absent. */
export function withBatching(platform: Platform, batching: Batching | undefined): Platform {
  if (!batching) return platform;
  return {
    ...platform,
    async load(versionDir, log = silentLog, id) {
      const parameters = batching.perModel ? await perModelParameters(versionDir) : batching.parameters;
      if (!parameters) return platform.load(versionDir, log, id);
      // Checked before the load, with the messages TF-Serving gives after it: the version fails either way.
      const { queue, merge } = queueOptions(parameters);
      const loaded = await platform.load(versionDir, log, id);
      if (!(loaded instanceof ModelServable)) return loaded;
      try {
        return new BatchingServable(loaded, {
          scheduler: batching.scheduler,
          queue,
          merge,
          codec: loadTensorCodec(),
          versionDir,
          // Labels of the per-queue figures; loaded outside the lifecycle (tests), the directories' names.
          model: id?.name ?? path.basename(path.dirname(versionDir)),
          version: String(id?.version ?? path.basename(versionDir)),
          log,
        });
      } catch (error) {
        loaded.unload();
        throw error;
      }
    },
  };
}

async function perModelParameters(versionDir: string): Promise<BatchingParameters | undefined> {
  const file = path.join(versionDir, PER_MODEL_BATCHING_PARAMS_FILE);
  if (!fs.existsSync(file)) return undefined;
  return readBatchingParametersFileAsync(file);
}
