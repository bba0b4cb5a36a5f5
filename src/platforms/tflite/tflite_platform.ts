/**
 * TensorFlow Lite models, served as TF-Serving serves them: not a model_platform of their own
 * but the "tensorflow" platform's, when --prefer_tflite_model is set and a version directory
 * holds model.tflite (TF-Serving's SavedModelBundleFactory makes the same choice, then wraps
 * the interpreter as a Session). The TFLite addon (native/tflite/) runs the model through
 * LiteRT; its describe() returns the model's SignatureDefs as a MetaGraphDef, so signatures are
 * read as a SavedModel's are.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toServingError } from '../../errors/serving_error';
import { type ModelHandle, loadBackendAddon } from '../../native/backend_addon';
import { ModelServable } from '../../servables/model_servable';
import type { LoadedServable, Platform, PlatformOptions } from '../platform';
import { parseSignatureDefs } from '../tensorflow/signatures';

export const TFLITE_MODEL_FILE = 'model.tflite';

export function hasTfLiteModel(versionDir: string): boolean {
  return fs.existsSync(path.join(versionDir, TFLITE_MODEL_FILE));
}

/** Loads `versionDir`/model.tflite; `numPools` requests may run on it at once. */
export async function loadTfLiteModel(versionDir: string, numPools: number): Promise<LoadedServable> {
  const addon = loadBackendAddon('tflite');
  let handle: ModelHandle;
  try {
    handle = await addon.load(versionDir, { num_pools: String(Math.max(1, numPools)) });
  } catch (error) {
    throw toServingError(error);
  }
  try {
    return new ModelServable(addon, handle, parseSignatureDefs(addon.describe(handle)));
  } catch (error) {
    addon.unload(handle);
    throw toServingError(error);
  }
}

/**
 * `tensorflow` as it is, or, under --prefer_tflite_model, the same platform loading
 * model.tflite wherever a version directory has one.
 */
export function preferTfLite(tensorflow: Platform, options: PlatformOptions): Platform {
  if (!options.preferTfLiteModel) return tensorflow;
  return {
    ...tensorflow,
    isVersionDir: (versionDir) => hasTfLiteModel(versionDir) || tensorflow.isVersionDir(versionDir),
    load: (versionDir) =>
      hasTfLiteModel(versionDir)
        ? loadTfLiteModel(versionDir, options.numTfLitePools ?? 1)
        : tensorflow.load(versionDir),
  };
}
