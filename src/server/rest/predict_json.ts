/**
 * Predict's JSON both ways, off the event loop. The native codec (native/codec/predict_json.h)
 * reads a body straight into tensors and writes outputs as JSON on a libuv worker thread, with
 * no per-value JavaScript; it declines what it does not cover (every malformed or invalid body,
 * DT_STRING and 16-bit/complex inputs, DT_STRING outputs), and the TypeScript codec
 * (./json/) then reads or writes it with TF-Serving's exact messages. Reading follows
 * TF-Serving's order: the JSON first (its errors come before the servable's), then the
 * signature, then the inputs. On the TypeScript path a body from OFF_THREAD_BODY_BYTES up is
 * read, and outputs from OFF_THREAD_OUTPUT_ELEMENTS up are written, on a worker thread
 * (piscina): 50 MB of JSON takes ~1.5 s to read there, which on the event loop would hold
 * every other request. Tensors read there come back moved, not copied.
 */
import { schedulableCpus } from '../../config/schedulable_cpus';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import { internal, invalidArgument, ServingError } from '../../errors/serving_error';
import type { StatusCodeName } from '../../errors/status_code';
import {
  isHostTensorOutput,
  loadTensorCodec,
  type HostTensorHandle,
  type NativeOutput,
  type PredictJsonSpec,
  type TensorCodec,
} from '../../native/backend_addon';
import { DataType } from '../../tensors/data_type';
import { DEFAULT_SIGNATURE_NAME, type SignatureMap, type TensorSpec } from '../../servables/signature';
import { elementCount, type JsonTensor } from './json/json_tensors';
import { type JsonPredictFormat, parsePredictDocument, predictInputsFromJson } from './json/json_tensors_request';
import { predictResponseJson } from './json/json_tensors_response';

export interface PredictBody {
  signatureName: string;
  format: JsonPredictFormat;
  /** By input alias: typed arrays from the TypeScript reader, HostTensorHandles from the native one. */
  inputs: Map<string, JsonTensor | HostTensorHandle>;
}

/** Input specs by signature name: what reading the inputs needs from the servable. */
export type SignatureInputs = Map<string, Map<string, TensorSpec>>;

const inputsOfSignatures = new WeakMap<SignatureMap, SignatureInputs>();
const nativeSpecs = new WeakMap<SignatureInputs, PredictJsonSpec>();

/** The same object for the same servable's signatures, so that its native spec is made once. */
export function signatureInputs(signatures: SignatureMap): SignatureInputs {
  let inputs = inputsOfSignatures.get(signatures);
  if (!inputs) {
    inputs = new Map([...signatures].map(([name, signature]) => [name, signature.inputs]));
    inputsOfSignatures.set(signatures, inputs);
  }
  return inputs;
}

function nativeSpec(signatures: SignatureInputs): PredictJsonSpec {
  let spec = nativeSpecs.get(signatures);
  if (!spec) {
    const list = [...signatures].map(
      ([name, inputs]) =>
        [name, [...inputs].map(([alias, tensor]) => [alias, tensor.dtype] as [string, number])] as [
          string,
          Array<[string, number]>,
        ],
    );
    spec = codec().predictJsonSpec(DEFAULT_SIGNATURE_NAME, list);
    nativeSpecs.set(signatures, spec);
  }
  return spec;
}

let loadedCodec: TensorCodec | undefined;
function codec(): TensorCodec {
  return (loadedCodec ??= loadTensorCodec());
}

/**
 * Below these sizes the work stays on the event loop, where it takes ~10-15 ms at most
 * (256 KiB of JSON read; 16 Ki values written), about what the hop to a worker saves.
 */
export const OFF_THREAD_BODY_BYTES = 256 * 1024;
export const OFF_THREAD_OUTPUT_ELEMENTS = 16 * 1024;

/**
 * Reads the body; `signatures` undefined (the servable lookup failed) reads only the JSON, whose
 * errors TF-Serving reports first, and resolves undefined.
 */
export async function readPredictBody(
  body: Buffer,
  signatures: SignatureInputs | undefined,
): Promise<PredictBody | undefined> {
  if (signatures) {
    const read = await codec().readPredictJson(body, nativeSpec(signatures));
    if (read) return { signatureName: read.signatureName, format: read.format, inputs: new Map(read.inputs) };
  }
  if (body.byteLength < OFF_THREAD_BODY_BYTES) return predictBodyFromText(body.toString('utf8'), signatures);
  const task: ReadTask = { body, signatures };
  const transferList = ownsItsMemory(body) ? [body.buffer as ArrayBuffer] : [];
  return fromWorker(await workerPool().run(task, { name: 'readPredictBodyTask', transferList }));
}

/** The response body for `outputs`, as TF-Serving lays it out. */
export async function predictResponseBytes(
  outputs: Map<string, NativeOutput>,
  format: JsonPredictFormat,
): Promise<Buffer> {
  const written = await writeNatively(outputs, format);
  if (written) return written;
  let elements = 0;
  for (const output of outputs.values()) if (!Buffer.isBuffer(output)) elements += elementCount(output.shape);
  if (elements < OFF_THREAD_OUTPUT_ELEMENTS) return Buffer.from(predictResponseJson(outputs, format), 'utf8');
  // The tensors' memory belongs to the framework: it is copied over, and the native handle stays here.
  const tensors: WriteTask['outputs'] = new Map();
  for (const [alias, output] of outputs) {
    if (Buffer.isBuffer(output)) tensors.set(alias, output);
    else if (isHostTensorOutput(output)) {
      tensors.set(alias, { dtype: output.dtype, shape: output.shape, data: output.data, strings: output.strings });
    } else throw internal(`output ${alias} came back 'raw'; REST asks for 'host' outputs`);
  }
  const task: WriteTask = { outputs: tensors, format };
  const bytes: Uint8Array = fromWorker(await workerPool().run(task, { name: 'writePredictResponseTask' }));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The native writer's bytes; undefined where TypeScript writes (or reports) them. */
async function writeNatively(
  outputs: Map<string, NativeOutput>,
  format: JsonPredictFormat,
): Promise<Buffer | undefined> {
  const tensors: Array<[string, HostTensorHandle]> = [];
  for (const [alias, output] of outputs) {
    // Strings are the TypeScript writer's; a Buffer is not a host tensor (its error is too).
    if (!isHostTensorOutput(output) || output.dtype === DataType.DT_STRING) return undefined;
    tensors.push([alias, output.handle]);
  }
  return (await codec().writePredictJson(tensors, format)) ?? undefined;
}

/**
 * A tensor of a REST Predict (an input as read from the body, or an output) as TensorProto
 * bytes with typed value fields, as gRPC Predict carries it; encoded off the JS thread.
 */
export async function tensorProtoBytes(tensor: JsonTensor | HostTensorHandle | NativeOutput): Promise<Uint8Array> {
  if (Buffer.isBuffer(tensor)) return tensor;
  if ('handle' in tensor) return codec().encode(tensor.handle, 'fields');
  if ('raw' in tensor)
    return codec().encode(
      (await codec().decode({ dtype: tensor.dtype, shape: tensor.shape, data: tensor.raw })).handle,
      'fields',
    );
  if ('dtype' in tensor) return codec().encode((await codec().decode(tensor)).handle, 'fields');
  return codec().encode(tensor, 'fields');
}

/** The TypeScript reading, on whichever thread. */
export function predictBodyFromText(text: string, signatures: SignatureInputs | undefined): PredictBody | undefined {
  const predict = parsePredictDocument(text);
  if (!signatures) return undefined;
  const signatureName = predict.signatureName || DEFAULT_SIGNATURE_NAME;
  const specs = signatures.get(signatureName);
  if (!specs) throw invalidArgument(`Serving signature name: "${signatureName}" not found in signature def`);
  const { format, inputs } = predictInputsFromJson(predict, specs);
  return { signatureName, format, inputs };
}

export interface ReadTask {
  body: Uint8Array;
  signatures: SignatureInputs | undefined;
}

export interface WriteTask {
  /** Host outputs without their native handle, which cannot cross threads. */
  outputs: Map<string, Buffer | { dtype: number; shape: number[]; data?: ArrayBuffer; strings?: Buffer[] }>;
  format: JsonPredictFormat;
}

/** Errors cross the thread boundary as data: a structured clone would drop ServingError's code. */
export type WorkerOutcome<T> = { value: T } | { error: { code: StatusCodeName; message: string } };

function fromWorker<T>(outcome: WorkerOutcome<T>): T {
  if ('error' in outcome) throw new ServingError(outcome.error.code, outcome.error.message);
  return outcome.value;
}

/** A Buffer from the shared pool must be copied, not moved (it would take its neighbours along). */
export function ownsItsMemory(view: Uint8Array): boolean {
  return (
    view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && !(view.buffer instanceof SharedArrayBuffer)
  );
}

let pool: Piscina | undefined;

/**
 * One thread per CPU, at most MAX_JSON_THREADS: reading a body holds ~5x its size, so four at
 * once bound that to ~1.3 GB at the default 64 MiB limit. (On 2 CPUs, four 50 MB bodies at once
 * took 4.4-6.6 s with a thread per CPU, 6-8.5 s with one thread; small requests beside them
 * answered within 0.3 s either way.) An idle thread exits after a while, and the memory its
 * heap grew to goes with it.
 */
const MAX_JSON_THREADS = 4;

function workerPool(): Piscina {
  pool ??= new Piscina({
    filename: path.join(__dirname, 'predict_json_worker.js'),
    minThreads: 0,
    maxThreads: Math.min(MAX_JSON_THREADS, schedulableCpus()),
    idleTimeout: 5_000,
  });
  return pool;
}
