/**
 * A tensor's values as the typed array its dtype calls for, for code outside the server that
 * reads tensors (the in-process ModelHost, the TF-Serving client): a view of the tensor's bytes,
 * never a copy. half and bfloat16 come as their 16-bit patterns (float16.ts widens them), complex
 * numbers as interleaved (real, imaginary) pairs, bool as 0/1 bytes, strings as Buffers.
 */
import { DataType } from './data_type';
import { dataTypeString } from './data_type_string';

export type TensorValues =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Buffer[];

/** A tensor with its values typed: `values` holds the elements in row-major order. */
export interface TypedTensor {
  /** tensorflow.DataType number (DataType.DT_FLOAT, ...). */
  dtype: number;
  shape: number[];
  values: TensorValues;
}

type NumericArrayType = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): TensorValues };

const ARRAY_TYPES: ReadonlyMap<number, NumericArrayType> = new Map<number, NumericArrayType>([
  [DataType.DT_FLOAT, Float32Array],
  [DataType.DT_DOUBLE, Float64Array],
  [DataType.DT_INT8, Int8Array],
  [DataType.DT_UINT8, Uint8Array],
  [DataType.DT_BOOL, Uint8Array],
  [DataType.DT_INT16, Int16Array],
  [DataType.DT_UINT16, Uint16Array],
  [DataType.DT_HALF, Uint16Array],
  [DataType.DT_BFLOAT16, Uint16Array],
  [DataType.DT_INT32, Int32Array],
  [DataType.DT_UINT32, Uint32Array],
  [DataType.DT_INT64, BigInt64Array],
  [DataType.DT_UINT64, BigUint64Array],
  [DataType.DT_COMPLEX64, Float32Array],
  [DataType.DT_COMPLEX128, Float64Array],
]);

/** The typed array class holding `dtype`'s elements; undefined for DT_STRING and unknown dtypes. */
export function typedArrayTypeOf(dtype: number): NumericArrayType | undefined {
  return ARRAY_TYPES.get(dtype);
}

/** The values of a tensor of `dtype` whose elements are `data` (numeric) or `strings` (DT_STRING). */
export function tensorValues(
  dtype: number,
  data: ArrayBuffer | undefined,
  strings: Buffer[] | undefined,
): TensorValues {
  if (dtype === DataType.DT_STRING) return strings ?? [];
  const ArrayType = typedArrayTypeOf(dtype);
  if (!ArrayType) throw new TypeError(`no typed array holds ${dataTypeString(dtype)} tensors`);
  return new ArrayType(data ?? new ArrayBuffer(0));
}
