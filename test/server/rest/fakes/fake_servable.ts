/**
 * An InferenceServable whose "model" is a TypeScript function from input tensors to 'host'
 * outputs, and helpers to build signatures and host tensors. The REST tests use it to check
 * HTTP semantics; the real frameworks are exercised end to end elsewhere.
 */
import type {
  HostTensorHandle,
  HostTensorOutput,
  NativeOutput,
  TensorSource,
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
    this.requests.push(run);
    return this.compute(run);
  }
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
