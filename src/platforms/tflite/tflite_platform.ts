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
import { silentLog, type Log } from '../../core/log';
import { toServingError } from '../../errors/serving_error';
import { type ModelHandle, loadBackendAddon } from '../../native/backend_addon';
import { ModelServable } from '../../servables/model_servable';
import {
  DEFAULT_SIGNATURE_NAME,
  PREDICT_METHOD_NAME,
  type SignatureMap,
  type TensorSpec,
} from '../../servables/signature';
import type { LoadedServable, Platform, PlatformOptions } from '../platform';
import { parseSignatureDefs } from '../tensorflow/signatures';

export const TFLITE_MODEL_FILE = 'model.tflite';

/**
 * The key LiteRT gives the signature it makes up for a model without SignatureDefs (one
 * converted from a TF1 session). Not in LiteRT's C headers: read from libLiteRt.so, and pinned
 * by a test fixture (half_plus_two_v1).
 */
const LITERT_MADE_UP_SIGNATURE = '<placeholder signature>';

/**
 * TF-Serving serves a model without SignatureDefs under "serving_default" (Predict), each
 * tensor aliased by its name up to the first ':' (TFLite converters used to drop TF's ":0").
 */
function asServedByTfServing(signatures: SignatureMap, versionDir: string, log: Log): SignatureMap {
  const madeUp = signatures.get(LITERT_MADE_UP_SIGNATURE);
  if (!madeUp) return signatures;
  log('WARNING', `${versionDir}: No signature def found in TFLite model. Generating one.`);
  const byTensorName = (specs: Map<string, TensorSpec>) =>
    new Map([...specs.values()].map((spec): [string, TensorSpec] => [spec.name.split(':')[0], spec]));
  return new Map([
    [
      DEFAULT_SIGNATURE_NAME,
      { methodName: PREDICT_METHOD_NAME, inputs: byTensorName(madeUp.inputs), outputs: byTensorName(madeUp.outputs) },
    ],
  ]);
}

export function hasTfLiteModel(versionDir: string): boolean {
  return fs.existsSync(path.join(versionDir, TFLITE_MODEL_FILE));
}

/** Loads `versionDir`/model.tflite; `numPools` requests may run on it at once. */
export async function loadTfLiteModel(
  versionDir: string,
  numPools: number,
  log: Log = silentLog,
): Promise<LoadedServable> {
  const addon = loadBackendAddon('tflite');
  let handle: ModelHandle;
  try {
    handle = await addon.load(versionDir, { num_pools: String(Math.max(1, numPools)) });
  } catch (error) {
    throw toServingError(error);
  }
  try {
    const signatures = asServedByTfServing(parseSignatureDefs(addon.describe(handle)), versionDir, log);
    return new ModelServable(addon, handle, signatures, { runtime: 'TF1' });
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
    load: (versionDir, log) =>
      hasTfLiteModel(versionDir)
        ? loadTfLiteModel(versionDir, options.numTfLitePools ?? 1, log)
        : tensorflow.load(versionDir, log),
  };
}
