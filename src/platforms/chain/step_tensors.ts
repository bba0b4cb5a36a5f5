/**
 * Tensors as function steps see them (src/platforms/chain/step_function_types.ts is the author's
 * view): numeric tensors as typed arrays of their dtype, strings as arrays of Buffers. Shared by
 * the JS thread (which dtypes a declaration may use) and the step worker (checking what a
 * function returned against its declaration), so the one check lives here.
 */
import type { TensorSpec } from '../../servables/signature';
import { DataType, dataTypeName } from '../../tensors/data_type';

type TypedArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor;

/** The typed array each numeric dtype a function step may take or return is viewed as. */
const TYPED_ARRAYS = new Map<number, TypedArrayConstructor>([
  [DataType.DT_FLOAT, Float32Array],
  [DataType.DT_DOUBLE, Float64Array],
  [DataType.DT_INT8, Int8Array],
  [DataType.DT_INT16, Int16Array],
  [DataType.DT_INT32, Int32Array],
  [DataType.DT_INT64, BigInt64Array],
  [DataType.DT_UINT8, Uint8Array],
  [DataType.DT_UINT16, Uint16Array],
  [DataType.DT_UINT32, Uint32Array],
  [DataType.DT_UINT64, BigUint64Array],
  [DataType.DT_BOOL, Uint8Array],
  [DataType.DT_HALF, Uint16Array],
  [DataType.DT_BFLOAT16, Uint16Array],
]);

/** Whether a function step may declare a tensor of `dtype` (complex dtypes have no typed array). */
export function isStepDataType(dtype: number): boolean {
  return dtype === DataType.DT_STRING || TYPED_ARRAYS.has(dtype);
}

/** A tensor crossing to or from a step worker: numeric bytes, or strings. */
export type WireTensor =
  NumericWireTensor | { dtype: typeof DataType.DT_STRING; shape: number[]; strings: Uint8Array[] };
export type NumericWireTensor = {
  dtype: number;
  shape: number[];
  data: ArrayBuffer;
  byteOffset: number;
  byteLength: number;
};

/** The step function's view of a tensor the worker received (no copy: a view of its bytes). */
export function viewOf(tensor: WireTensor): { dtype: string; shape: number[]; data?: unknown; strings?: Buffer[] } {
  const dtype = dataTypeName(tensor.dtype);
  if ('strings' in tensor) {
    const strings = tensor.strings.map((bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { dtype, shape: tensor.shape, strings };
  }
  const View = TYPED_ARRAYS.get(tensor.dtype)!;
  const data = new View(tensor.data, tensor.byteOffset, tensor.byteLength / View.BYTES_PER_ELEMENT);
  return { dtype, shape: tensor.shape, data };
}

/**
 * What a function returned for one declared output, as a WireTensor, or why it is not that
 * output (the caller names the step and the output).
 */
export function checkedOutput(value: unknown, spec: TensorSpec): WireTensor | string {
  if (typeof value !== 'object' || value === null) return `is ${describeValue(value)}, not a tensor`;
  const tensor = value as { dtype?: unknown; shape?: unknown; data?: unknown; strings?: unknown };
  const declared = dataTypeName(spec.dtype);
  if (tensor.dtype !== undefined && tensor.dtype !== declared) {
    return `has dtype ${String(tensor.dtype).slice(0, 40)} but the step declares ${declared}`;
  }
  const shape = tensor.shape;
  if (!Array.isArray(shape) || !shape.every((size) => Number.isSafeInteger(size) && size >= 0)) {
    return 'has no shape (an array of whole numbers >= 0)';
  }
  const shapeError = shapeMismatch(shape, spec.shape!);
  if (shapeError) return shapeError;
  const elements = shape.reduce((product: number, size: number) => product * size, 1);
  if (spec.dtype === DataType.DT_STRING) {
    const strings = tensor.strings;
    if (!Array.isArray(strings) || !strings.every((item) => item instanceof Uint8Array)) {
      return `is no ${declared} tensor: its strings must be an array of Buffers (or Uint8Arrays)`;
    }
    if (strings.length !== elements) return `has ${strings.length} strings but shape [${shape.join(',')}]`;
    return { dtype: DataType.DT_STRING, shape, strings };
  }
  const View = TYPED_ARRAYS.get(spec.dtype)!;
  if (!(tensor.data instanceof View)) {
    return `is no ${declared} tensor: its data must be a ${View.name}, not ${describeValue(tensor.data)}`;
  }
  const data = tensor.data;
  if (data.length !== elements) return `has ${data.length} values but shape [${shape.join(',')}]`;
  return {
    dtype: spec.dtype,
    shape,
    data: data.buffer as ArrayBuffer,
    byteOffset: data.byteOffset,
    byteLength: data.byteLength,
  };
}

function shapeMismatch(shape: number[], declared: readonly number[]): string | undefined {
  const fits = shape.length === declared.length && declared.every((size, i) => size < 0 || size === shape[i]);
  if (fits) return undefined;
  return `has shape [${shape.join(',')}] but the step declares [${declared.join(',')}] (-1: any size)`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ?? 'an object';
}
