/**
 * The JavaScript surface of the framework addons (native/common/addon_kit.h) and of the tensor
 * codec (native/codec/codec_addon.cc), and the one place that loads `.node` files. Every
 * framework addon has exactly the BackendAddon surface.
 */
import * as path from 'node:path';

/** Opaque native handles. */
export type ModelHandle = { readonly __brand: 'ModelHandle' };
export type HostTensorHandle = { readonly __brand: 'HostTensorHandle' };

/**
 * An input tensor as run() and decode() take it; every form but a handle is read in C++ off the
 * JS thread. `{dtype, shape, data}`: the elements' little-endian bytes (one counted copy into an
 * aligned tensor). DT_STRING (7) takes `strings` (one Uint8Array per element), or `data` in the
 * Open Inference Protocol's raw BYTES form (each element a 4-byte little-endian length, then its
 * bytes); bytes that do not hold exactly the shape's elements are INVALID_ARGUMENT.
 */
export type TensorSource =
  | Uint8Array /* TensorProto bytes */
  | { dtype: number; shape: number[]; data: ArrayBufferView }
  | { dtype: 7; shape: number[]; strings: Uint8Array[] }
  | { dtype: 7; shape: number[]; data: Uint8Array }
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
 *  'host': the tensor itself, for REST rendering and for chaining into another model.
 *  'raw': the Open Inference Protocol's raw contents in a plain Buffer (RawTensorOutput). */
export type OutputEncoding = 'fields' | 'content' | 'host' | 'raw';

export interface HostTensorOutput {
  dtype: number;
  shape: number[];
  data?: ArrayBuffer;
  strings?: Buffer[];
  handle: HostTensorHandle;
}

/**
 * A 'raw' output: `raw` holds its values as the Open Inference Protocol's raw contents
 * (numeric: the tensor's bytes, little-endian, row-major; BYTES: each element's 4-byte
 * little-endian length, then its bytes). No HostTensorHandle: nothing else keeps the tensor.
 */
export interface RawTensorOutput {
  dtype: number;
  shape: number[];
  raw: Buffer;
}

export type NativeOutput = Buffer | HostTensorOutput | RawTensorOutput;

/** Whether `output` is a 'host' output (not TensorProto bytes, not 'raw'). */
export function isHostTensorOutput(output: NativeOutput): output is HostTensorOutput {
  return !Buffer.isBuffer(output) && !('raw' in output);
}

/**
 * A run's cancel flag: the JS thread sets element 0 to 1 (Atomics.store) when the caller stops
 * listening; the worker thread reads it as the run starts (src/servables/run_deadline.ts keeps it).
 */
export type CancelFlag = Int32Array;

/** One request of a batch (runBatch): its inputs, with the same names in the same order in every task. */
export interface BatchTask {
  inputs: RunInput[];
  /** As run()'s: a task still queued then is answered DEADLINE_EXCEEDED and never run. */
  deadlineUs?: number;
  /** As run()'s: a task whose flag is set when its batch starts is answered CANCELLED and never run. */
  cancelled?: CancelFlag;
}

/** How runBatch merges its tasks (BatchingParameters). */
export interface BatchRunOptions {
  /** allowed_batch_sizes: the merged batch is padded up to the first size that holds its rows; empty: no padding. */
  allowedBatchSizes: number[];
  /** pad_variable_length_inputs: dims >= 1 that differ across tasks are padded (TF-Serving's batching_util). */
  padVariableLengthInputs: boolean;
}

export interface BatchRunResult {
  /**
   * One entry per task, in order: its outputs as run() resolves them, or the Error (with
   * `code`, as run()'s rejections) that failed this task alone (its decoding, dtype or shape,
   * an expired deadline, its cancel flag). The other tasks ran without it.
   */
  results: Array<Array<[string, NativeOutput]> | Error>;
  /** Rows of the batch that ran, padding included; 0 when no task was left to run. */
  batchRows: number;
  /** Of batchRows, the padding rows added for allowedBatchSizes. */
  paddingRows: number;
}

export interface BackendAddon {
  load(modelPath: string, options: Record<string, string | Buffer>): Promise<ModelHandle>;
  describe(model: ModelHandle): Buffer;
  /**
   * `deadlineUs`: on process.hrtime()'s clock; a run still queued then rejects with DEADLINE_EXCEEDED.
   * `cancelled`: a run still queued when it is set rejects with CANCELLED.
   */
  run(
    model: ModelHandle,
    inputs: RunInput[],
    outputNames: string[],
    encoding: OutputEncoding,
    deadlineUs?: number,
    cancelled?: CancelFlag,
  ): Promise<Array<[string, NativeOutput]>>;
  /**
   * Runs several requests as one: on a worker thread each task's inputs are decoded and checked,
   * concatenated on dim 0 into one tensor per input (one copy into the batch tensor), run once,
   * and each output is split back by the tasks' rows without a copy. Rejects (every task fails)
   * when the run fails or an output cannot be split (TF-Serving's BatchingSession messages).
   */
  runBatch(
    model: ModelHandle,
    tasks: BatchTask[],
    outputNames: string[],
    encoding: OutputEncoding,
    options: BatchRunOptions,
  ): Promise<BatchRunResult>;
  unload(model: ModelHandle): void;
}

/** Predict's JSON formats: row ("instances" -> "predictions") or columnar ("inputs" -> "outputs"). */
export type JsonPredictFormat = 'row' | 'columnar';

/** What reading a Predict body needs of a servable's signatures, made once per servable. */
export type PredictJsonSpec = { readonly __brand: 'PredictJsonSpec' };

export interface NativePredictBody {
  signatureName: string;
  format: JsonPredictFormat;
  /** By input alias, in the signature's order. */
  inputs: Array<[string, HostTensorHandle]>;
}

/**
 * The framework-neutral tensor kit, its own addon (duoserve_codec.node): tensors in and out of
 * the wire forms without running a model. Its HostTensorHandles feed any framework's run.
 */
export interface TensorCodec {
  /** The tensor `source` stands for, decoded once off the JS thread, to feed several runs. */
  decode(source: TensorSource): Promise<HostTensorOutput>;
  /** A 'host' output as TensorProto bytes, encoded off the JS thread. */
  encode(tensor: HostTensorHandle, encoding: 'fields' | 'content'): Promise<Buffer>;
  /**
   * The size of dim 0 of the tensor `source` stands for, read on the JS thread without decoding
   * its values (of TensorProto bytes only tensor_shape is read, by the decoder's own shape
   * reader): -1 for a scalar, -2 for TensorProto bytes that cannot be read (the run says why).
   */
  leadingDim(source: TensorSource): number;
  /** Tensor payload copies so far, in every addon (they share one counter). */
  copyStats(): { copies: number; bytes: number };
  /** `signatures`: [name, [alias, dtype][]] in the signatures' order (DT_INVALID: inferred). */
  predictJsonSpec(defaultSignature: string, signatures: Array<[string, Array<[string, number]>]>): PredictJsonSpec;
  /**
   * A Predict body read into tensors off the JS thread; null when the native reader declines it
   * (any error, and the cases native/codec/predict_json.h lists), for the TypeScript reader.
   */
  readPredictJson(body: Uint8Array, spec: PredictJsonSpec): Promise<NativePredictBody | null>;
  /** The Predict response body, written off the JS thread; null when declined, as above. */
  writePredictJson(outputs: Array<[string, HostTensorHandle]>, format: JsonPredictFormat): Promise<Buffer | null>;
}

const loaded = new Map<string, unknown>();

/** Build directories searched, in order, for `duoserve_<name>.node`. */
export function addonSearchPaths(name: string): string[] {
  const root = path.resolve(__dirname, '..', '..', '..');
  const file = `duoserve_${name}.node`;
  return [path.join(root, 'build', 'Release', file), path.join(root, 'build', 'Debug', file)];
}

/** Loads (once) the addon of one framework; a failure lists every path tried and why. */
export function loadBackendAddon(name: string): BackendAddon {
  return loadAddon<BackendAddon>(name);
}

/** The tensor kit, for code that handles tensors without running a model of its own. */
export function loadTensorCodec(): TensorCodec {
  return loadAddon<TensorCodec>('codec');
}

function loadAddon<T>(name: string): T {
  const cached = loaded.get(name);
  if (cached) return cached as T;
  const failures: string[] = [];
  for (const candidate of addonSearchPaths(name)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(candidate) as T;
      loaded.set(name, addon);
      return addon;
    } catch (error) {
      failures.push(`  ${candidate}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`cannot load the ${name} addon (run scripts/setup.sh to build it); tried:\n${failures.join('\n')}`);
}
