/**
 * The "pytorch" model_platform: a version directory (model.pt for TorchScript; a *.pt2
 * AOTInductor package, not served yet) loaded by the PyTorch addon (native/pytorch/) and
 * served through ModelServable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { invalidArgument, toServingError } from '../../errors/serving_error';
import { BackendAddon, loadBackendAddon, ModelHandle } from '../../native/backend_addon';
import { ModelServable } from '../../servables/model_servable';
import { SignatureMap } from '../../servables/signature';
import type { LoadedServable, Platform } from '../platform';
import { buildPyTorchSignatures, parseDescription, SIGNATURE_FILE } from './signatures';

export const PYTORCH_PLATFORM_NAME = 'pytorch';

export interface LoadedPyTorchModel {
  handle: ModelHandle;
  signatures: SignatureMap;
  addon: BackendAddon;
}

/** Whether `dir` holds a PyTorch model (model.pt or a *.pt2 package). */
export function isPyTorchVersionDir(dir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return false;
  }
  return names.some((name) => name === 'model.pt' || name.endsWith('.pt2'));
}

/**
 * Loads one version. Errors are ServingErrors: the addon's codes (NOT_FOUND without a model
 * file, INVALID_ARGUMENT for an unreadable model, UNIMPLEMENTED for .pt2) or INVALID_ARGUMENT
 * for a bad signature.json. On failure nothing stays loaded.
 */
export async function loadPyTorchModel(versionDir: string): Promise<LoadedPyTorchModel> {
  const signatureFile = await readSignatureFile(versionDir);
  let addon: BackendAddon;
  let handle: ModelHandle;
  try {
    addon = loadBackendAddon('pytorch');
    handle = await addon.load(versionDir, {});
  } catch (error) {
    throw toServingError(error);
  }
  try {
    const signatures = buildPyTorchSignatures(parseDescription(addon.describe(handle)), signatureFile);
    return { handle, signatures, addon };
  } catch (error) {
    addon.unload(handle);
    throw toServingError(error);
  }
}

async function readSignatureFile(versionDir: string): Promise<unknown> {
  const file = path.join(versionDir, SIGNATURE_FILE);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalidArgument(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidArgument(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The platform entry for registry.ts. The addon reads no load options yet. */
export function pyTorchPlatform(): Platform {
  return {
    name: PYTORCH_PLATFORM_NAME,
    isVersionDir: isPyTorchVersionDir,
    async load(versionDir: string): Promise<LoadedServable> {
      const model = await loadPyTorchModel(versionDir);
      return new ModelServable(model.addon, model.handle, model.signatures);
    },
  };
}
