/**
 * The `pytorch` platform's loading step: a version directory (model.pt for TorchScript; a
 * *.pt2 AOTInductor package, not served yet) becomes a native model handle plus its
 * SignatureMap. The source adapter and servable build on this.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { invalidArgument, toServingError } from '../../errors/serving_error';
import { BackendAddon, loadBackendAddon, ModelHandle } from '../../native/backend_addon';
import { SignatureMap } from '../../servables/signature';
import { buildPyTorchSignatures, parseDescription, SIGNATURE_FILE } from './signatures';

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
