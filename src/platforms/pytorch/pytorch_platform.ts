/**
 * The "pytorch" model_platform: a version directory holding model.pt (TorchScript) or one
 * *.pt2 AOTInductor package (model.pt2 by convention), loaded by the PyTorch addon
 * (native/pytorch/), which tells the format from the directory. Both are served through
 * ModelServable; a package's inputs also have their shapes checked.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { FrameworkThreads } from '../../config/thread_budget';
import { silentLog, type Log } from '../../core/log';
import { invalidArgument, toServingError } from '../../errors/serving_error';
import { BackendAddon, loadBackendAddon, ModelHandle } from '../../native/backend_addon';
import { ModelServable } from '../../servables/model_servable';
import { SignatureMap } from '../../servables/signature';
import type { LoadedServable, Platform } from '../platform';
import { buildAotiSignatures } from './aoti_signatures';
import { parseModelFileJson } from './model_file_json';
import { buildPyTorchSignatures, parseDescription, SIGNATURE_FILE, unlistedOutputsWarning } from './signatures';

export const PYTORCH_PLATFORM_NAME = 'pytorch';

export interface LoadedPyTorchModel {
  handle: ModelHandle;
  signatures: SignatureMap;
  addon: BackendAddon;
  format: 'torchscript' | 'aoti';
  /** What the load log should show about this version. */
  warnings: string[];
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
 * Runs of one AOTInductor package that may execute at once: one per libuv worker thread, as
 * each run occupies one (src/main.ts sizes the pool). Fewer serialize runs that could overlap
 * (measured on 2 cores, mlp_pt2 [8, 512] at 16 concurrent requests, pool of 4: 1 runner 2200
 * req/s, 2: 2250, 4: 2600); more than the pool never run.
 */
function aotiRunners(): string {
  const pool = Number(process.env.UV_THREADPOOL_SIZE);
  return String(Number.isInteger(pool) && pool > 0 ? Math.min(pool, 256) : 4);
}

/**
 * Loads one version. Errors are ServingErrors: the addon's codes (NOT_FOUND without a model
 * file, INVALID_ARGUMENT for an unreadable model or package, FAILED_PRECONDITION for a package
 * built for another device or CPU) or INVALID_ARGUMENT for a bad signature (signature.json, or
 * a package whose inputs' shapes nothing states). On failure nothing stays loaded.
 * `options` go to the addon (native/pytorch/pytorch_backend.cc lists them), over the default
 * aoti_runners.
 */
export async function loadPyTorchModel(
  versionDir: string,
  options: Record<string, string> = {},
): Promise<LoadedPyTorchModel> {
  const signatureFile = await readSignatureFile(versionDir);
  let addon: BackendAddon;
  let handle: ModelHandle;
  try {
    addon = loadBackendAddon('pytorch');
    handle = await addon.load(versionDir, { aoti_runners: aotiRunners(), ...options });
  } catch (error) {
    throw toServingError(error);
  }
  try {
    const description = parseDescription(addon.describe(handle));
    if (description.format === 'aoti') {
      return {
        handle,
        signatures: buildAotiSignatures(description, signatureFile),
        addon,
        format: 'aoti',
        warnings: [],
      };
    }
    const signatures = buildPyTorchSignatures(description, signatureFile);
    const unlisted = unlistedOutputsWarning(description, signatures);
    return { handle, signatures, addon, format: 'torchscript', warnings: unlisted ? [unlisted] : [] };
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
  return parseModelFileJson(text, file);
}

/**
 * libtorch's thread counts as load options. They are process-wide: the first load applies them
 * before its model loads (so before any run), later loads find them applied.
 */
export function torchThreadOptions(threads: FrameworkThreads): Record<string, string> {
  return { intra_op_threads: String(threads.intraOp), inter_op_threads: String(threads.interOp) };
}

/** The platform entry for registry.ts; `threads` absent leaves libtorch's defaults. */
export function pyTorchPlatform(threads?: FrameworkThreads): Platform {
  const options = threads ? torchThreadOptions(threads) : {};
  return {
    name: PYTORCH_PLATFORM_NAME,
    isVersionDir: isPyTorchVersionDir,
    async load(versionDir: string, log: Log = silentLog): Promise<LoadedServable> {
      const model = await loadPyTorchModel(versionDir, options);
      for (const warning of model.warnings) log('WARNING', `${versionDir}: ${warning}`);
      const aoti = model.format === 'aoti';
      return new ModelServable(model.addon, model.handle, model.signatures, {
        runtime: aoti ? 'AOTInductor' : 'TorchScript',
        checkShapes: aoti,
      });
    },
  };
}
