/**
 * An InferenceServable whose "model" is a TypeScript function from input tensors to 'host'
 * outputs, and helpers to build signatures and host tensors. The REST tests use it to check
 * HTTP semantics; the real frameworks are exercised end to end elsewhere. Tensors cross it as
 * they cross a real servable: inputs the native JSON reader made (HostTensorHandles) reach
 * the function as typed arrays, and its outputs leave as real HostTensors (the tensor codec's).
 */
import {
  isHostTensorOutput,
  loadTensorCodec,
  type HostTensorHandle,
  type HostTensorOutput,
  type NativeOutput,
  type TensorSource,
} from '../../../../src/native/backend_addon';
import type { CheckedRun, InferenceServable } from '../../../../src/servables/inference_servable';
import { PREDICT_METHOD_NAME, Signature, SignatureMap, TensorSpec } from '../../../../src/servables/signature';
import { DataType } from '../../../../src/tensors/data_type';

export type Compute = (run: CheckedRun) => Map<string, NativeOutput> | Promise<Map<string, NativeOutput>>;

export class FakeServable implements InferenceServable {
  readonly requests: CheckedRun[] = [];

  constructor(
    readonly signatures: SignatureMap,
    private readonly compute: Compute,
  ) {}

  async runChecked(run: CheckedRun): Promise<Map<string, NativeOutput>> {
    const inputs = new Map<string, TensorSource>();
    for (const [alias, source] of run.inputs) inputs.set(alias, await typedSource(source));
    const checkedInputs = run.checkedInputs.map((input) => ({ ...input, source: inputs.get(input.alias)! }));
    const typed = { ...run, inputs, checkedInputs };
    this.requests.push(typed);
    const outputs = new Map<string, NativeOutput>();
    for (const [alias, output] of await this.compute(typed)) outputs.set(alias, await nativeOutput(output));
    return outputs;
  }
}

const TYPED_ARRAYS: Record<number, new (buffer: ArrayBuffer) => ArrayBufferView> = {
  [DataType.DT_FLOAT]: Float32Array,
  [DataType.DT_DOUBLE]: Float64Array,
  [DataType.DT_INT8]: Int8Array,
  [DataType.DT_UINT8]: Uint8Array,
  [DataType.DT_INT16]: Int16Array,
  [DataType.DT_UINT16]: Uint16Array,
  [DataType.DT_HALF]: Uint16Array,
  [DataType.DT_BFLOAT16]: Uint16Array,
  [DataType.DT_INT32]: Int32Array,
  [DataType.DT_UINT32]: Uint32Array,
  [DataType.DT_INT64]: BigInt64Array,
  [DataType.DT_UINT64]: BigUint64Array,
  [DataType.DT_BOOL]: Uint8Array,
  [DataType.DT_COMPLEX64]: Float32Array,
  [DataType.DT_COMPLEX128]: Float64Array,
};

/** A HostTensorHandle as the typed source the TypeScript reader would have made. */
async function typedSource(source: TensorSource): Promise<TensorSource> {
  if (source instanceof Uint8Array || 'shape' in source) return source;
  const tensor = await loadTensorCodec().decode(source);
  if (tensor.strings) return { dtype: DataType.DT_STRING, shape: tensor.shape, strings: tensor.strings };
  return { dtype: tensor.dtype, shape: tensor.shape, data: new TYPED_ARRAYS[tensor.dtype](tensor.data!.slice(0)) };
}

/** A hostTensor() output made a real HostTensor, as a native run returns it. */
async function nativeOutput(output: NativeOutput): Promise<NativeOutput> {
  if (!isHostTensorOutput(output)) return output;
  const source = output.strings
    ? { dtype: DataType.DT_STRING as 7, shape: output.shape, strings: output.strings }
    : { dtype: output.dtype, shape: output.shape, data: new Uint8Array(output.data!) };
  return loadTensorCodec().decode(source);
}

export function spec(dtype: number, shape: number[] | null, name = 'tensor:0'): TensorSpec {
  return { name, dtype, shape };
}

export function signature(inputs: Record<string, TensorSpec>, outputs: Record<string, TensorSpec>): Signature {
  return {
    methodName: PREDICT_METHOD_NAME,
    inputs: new Map(Object.entries(inputs)),
    outputs: new Map(Object.entries(outputs)),
  };
}

/** A 'host' output as the addons return it. */
export function hostTensor(dtype: number, shape: number[], values: ArrayBufferView | Uint8Array[]): HostTensorOutput {
  const handle = {} as HostTensorHandle;
  if (Array.isArray(values)) return { dtype, shape, strings: values.map((v) => Buffer.from(v)), handle };
  const data = values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength) as ArrayBuffer;
  return { dtype, shape, data, handle };
}

/** An input tensor handed to run() as a 'host' output (what an identity model returns). */
export function echo(source: TensorSource): HostTensorOutput {
  if (source instanceof Uint8Array || !('shape' in source)) throw new Error('echo takes typed sources only');
  if ('strings' in source) return hostTensor(DataType.DT_STRING, source.shape, source.strings);
  return hostTensor(source.dtype, source.shape, source.data);
}

/**
 * A servable whose outputs are its inputs: each output of the requested signature is the
 * input `outputOf` names for it (output alias -> input alias).
 */
export function identityServable(signatures: SignatureMap, outputOf: Record<string, string>): FakeServable {
  return new FakeServable(signatures, (request) => {
    const outputs = new Map<string, NativeOutput>();
    for (const output of signatures.get(request.signatureName)!.outputs.keys()) {
      outputs.set(output, echo(request.inputs.get(outputOf[output])!));
    }
    return outputs;
  });
}
