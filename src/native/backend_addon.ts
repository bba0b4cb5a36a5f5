/**
 * The JavaScript surface of a framework addon (native/common/addon_kit.h), and the one place
 * that loads `.node` files. Every framework addon has exactly this surface.
 */
import * as path from 'node:path';

/** Opaque native handles. */
export type ModelHandle = { readonly __brand: 'ModelHandle' };
export type HostTensorHandle = { readonly __brand: 'HostTensorHandle' };

export type TensorSource =
  | Uint8Array /* TensorProto bytes, decoded in C++ off the JS thread */
  | { dtype: number; shape: number[]; data: ArrayBufferView }
  | { dtype: 7; shape: number[]; strings: Uint8Array[] }
  | HostTensorHandle;

/** 'fields': TensorProto with typed repeated fields, as TF-Serving answers Predict.
 *  'content': TensorProto with tensor_content (opt-in, faster to encode and decode).
 *  'host': the tensor itself, for REST rendering and for chaining into another model. */
export type OutputEncoding = 'fields' | 'content' | 'host';

export interface HostTensorOutput {
  dtype: number;
  shape: number[];
  data?: ArrayBuffer;
  strings?: Buffer[];
  handle: HostTensorHandle;
}

export type NativeOutput = Buffer | HostTensorOutput;

export interface BackendAddon {
  load(modelPath: string, options: Record<string, string | Buffer>): Promise<ModelHandle>;
  describe(model: ModelHandle): Buffer;
  run(
    model: ModelHandle,
    inputs: Array<[string, TensorSource]>,
    outputNames: string[],
    encoding: OutputEncoding,
  ): Promise<Array<[string, NativeOutput]>>;
  unload(model: ModelHandle): void;
  copyStats(): { copies: number; bytes: number };
}

const loaded = new Map<string, BackendAddon>();

/** Build directories searched, in order, for `duoserve_<name>.node`. */
export function addonSearchPaths(name: string): string[] {
  const root = path.resolve(__dirname, '..', '..', '..');
  const file = `duoserve_${name}.node`;
  return [path.join(root, 'build', 'Release', file), path.join(root, 'build', 'Debug', file)];
}

/** Loads (once) the addon of one framework; a failure lists every path tried and why. */
export function loadBackendAddon(name: string): BackendAddon {
  const cached = loaded.get(name);
  if (cached) return cached;
  const failures: string[] = [];
  for (const candidate of addonSearchPaths(name)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(candidate) as BackendAddon;
      loaded.set(name, addon);
      return addon;
    } catch (error) {
      failures.push(`  ${candidate}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    `cannot load the ${name} addon (run scripts/setup.sh to build it); tried:\n${failures.join('\n')}`,
  );
}
