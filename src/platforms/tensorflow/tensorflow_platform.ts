/**
 * The "tensorflow" model_platform: SavedModel version directories, loaded by the
 * TensorFlow addon (native/tensorflow/) and served through ModelServable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toServingError } from '../../errors/serving_error';
import { type BackendAddon, type ModelHandle, loadBackendAddon } from '../../native/backend_addon';
import { ModelServable } from '../../servables/model_servable';
import type { SignatureMap } from '../../servables/signature';
import type { LoadedServable, Platform, PlatformOptions, PlatformWarmup } from '../platform';
import { encodeSessionConfig, type SessionConfig } from './session_config';
import { parseSignatureDefs } from './signatures';

export const TENSORFLOW_PLATFORM_NAME = 'tensorflow';

export interface TensorFlowLoadOptions {
  /** MetaGraphDef tags to load; empty means ["serve"], as in tensorflow_model_server. */
  tags: string[];
  sessionConfig?: SessionConfig;
  /** Whether XLA may JIT-compile; process-wide in TensorFlow. Absent: left as it is. */
  xlaCompilation?: boolean;
  /** Keep only the signature_def of the MetaGraphDef (all that serving reads); it can be megabytes less. */
  signatureDefsOnly?: boolean;
}

export interface LoadedTensorFlowModel {
  handle: ModelHandle;
  signatures: SignatureMap;
  addon: BackendAddon;
}

/** True when `versionDir` holds a SavedModel (saved_model.pb or saved_model.pbtxt). */
export function isTensorFlowVersionDir(versionDir: string): boolean {
  return ['saved_model.pb', 'saved_model.pbtxt'].some((file) => fs.existsSync(path.join(versionDir, file)));
}

/** Loads one SavedModel version; rejects with a ServingError carrying TensorFlow's message. */
export async function loadTensorFlowModel(
  versionDir: string,
  options: TensorFlowLoadOptions,
): Promise<LoadedTensorFlowModel> {
  const addon = loadBackendAddon('tensorflow');
  const loadOptions: Record<string, string | Buffer> = { tags: options.tags.join(',') };
  const config = encodeSessionConfig(options.sessionConfig ?? {});
  if (config.length > 0) loadOptions.config_proto = Buffer.from(config);
  if (options.signatureDefsOnly) loadOptions.meta_graph_def = 'signature_def';
  if (options.xlaCompilation !== undefined) {
    loadOptions.xla_compilation = options.xlaCompilation ? 'enabled' : 'disabled';
  }
  let handle: ModelHandle;
  try {
    handle = await addon.load(versionDir, loadOptions);
  } catch (error) {
    throw toServingError(error);
  }
  try {
    return { handle, signatures: parseSignatureDefs(addon.describe(handle)), addon };
  } catch (error) {
    addon.unload(handle);
    throw toServingError(error);
  }
}

/** `warmup`: the platform's own warmup settings (from a SavedModelBundleSourceAdapterConfig). */
export function tensorFlowPlatform(options: PlatformOptions, warmup?: PlatformWarmup): Platform {
  return {
    name: TENSORFLOW_PLATFORM_NAME,
    isVersionDir: isTensorFlowVersionDir,
    warmup,
    async load(versionDir: string): Promise<LoadedServable> {
      const model = await loadTensorFlowModel(versionDir, {
        tags: options.savedModelTags,
        sessionConfig: options.sessionConfig,
        xlaCompilation: options.xlaCpuCompilationEnabled,
        signatureDefsOnly: options.removeUnusedFieldsFromBundleMetagraph,
      });
      return new ModelServable(model.addon, model.handle, model.signatures, { runtime: 'TF1' });
    },
  };
}
