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

/**
 * One input of run(): the framework's tensor name and the source, with what the signature
 * expects of it, checked once after decoding: the dtype (0: any, TF's "Expects arg[i] to be
 * float but int32 is provided"), and where shapes are checked the shape (-1: any size) and the
 * alias the shape error names.
 */
export type RunInput =
  | [name: string, source: TensorSource]
  | [name: string, source: TensorSource, dtype: number]
  | [name: string, source: TensorSource, dtype: number, shape: number[], alias: string];

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
  /** `deadlineUs`: on process.hrtime()'s clock; a run still queued then rejects with DEADLINE_EXCEEDED. */
  run(
    model: ModelHandle,
    inputs: RunInput[],
    outputNames: string[],
    encoding: OutputEncoding,
    deadlineUs?: number,
  ): Promise<Array<[string, NativeOutput]>>;
  unload(model: ModelHandle): void;
  /** The tensor `source` stands for, decoded once off the JS thread, to feed several runs. */
  decode(source: TensorSource): Promise<HostTensorOutput>;
  /** A 'host' output as TensorProto bytes, encoded off the JS thread. */
  encode(tensor: HostTensorHandle, encoding: Exclude<OutputEncoding, 'host'>): Promise<Buffer>;
  copyStats(): { copies: number; bytes: number };
}

/** The framework-neutral part of the surface: every addon carries the same tensor kit. */
export type TensorCodec = Pick<BackendAddon, 'decode' | 'encode' | 'copyStats'>;

/** Framework addons, in the order loadTensorCodec tries them. */
const FRAMEWORK_ADDONS = ['tensorflow', 'pytorch'];

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
  throw new Error(`cannot load the ${name} addon (run scripts/setup.sh to build it); tried:\n${failures.join('\n')}`);
}

/**
 * The tensor kit (decode/encode of HostTensors), for code that handles tensors without
 * running a model of its own (chains). Any framework addon carries it: the first that loads.
 */
export function loadTensorCodec(): TensorCodec {
  const failures: string[] = [];
  for (const name of FRAMEWORK_ADDONS) {
    try {
      return loadBackendAddon(name);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  throw new Error(`no framework addon loads, so no tensor kit:\n${failures.join('\n')}`);
}
