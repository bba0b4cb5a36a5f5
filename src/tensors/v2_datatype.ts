/**
 * The Open Inference Protocol's (KServe v2) tensor datatypes and tensorflow.DataType, mapped
 * both ways in this one place, for every dtype both frameworks serve. BYTES is TensorFlow's
 * DT_STRING (PyTorch has no string tensor). Complex numbers have no v2 datatype.
 */
import { DataType } from './data_type';

/** The v2 datatype names, as the protocol spells them. */
export type V2Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'BF16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

const BY_V2: ReadonlyMap<V2Datatype, number> = new Map<V2Datatype, number>([
  ['BOOL', DataType.DT_BOOL],
  ['UINT8', DataType.DT_UINT8],
  ['UINT16', DataType.DT_UINT16],
  ['UINT32', DataType.DT_UINT32],
  ['UINT64', DataType.DT_UINT64],
  ['INT8', DataType.DT_INT8],
  ['INT16', DataType.DT_INT16],
  ['INT32', DataType.DT_INT32],
  ['INT64', DataType.DT_INT64],
  ['FP16', DataType.DT_HALF],
  ['BF16', DataType.DT_BFLOAT16],
  ['FP32', DataType.DT_FLOAT],
  ['FP64', DataType.DT_DOUBLE],
  ['BYTES', DataType.DT_STRING],
]);

const BY_DTYPE: ReadonlyMap<number, V2Datatype> = new Map([...BY_V2].map(([name, dtype]) => [dtype, name]));

/** Bytes per element in raw contents; BYTES has none (each element is a 4-byte length, then its bytes). */
const ELEMENT_BYTES: Readonly<Record<V2Datatype, number>> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  BF16: 2,
  FP32: 4,
  FP64: 8,
  BYTES: 0,
};

/** The tensorflow.DataType of a v2 datatype; undefined for a name the protocol does not have. */
export function dataTypeOfV2(datatype: string): number | undefined {
  return BY_V2.get(datatype as V2Datatype);
}

/** The v2 datatype of a tensorflow.DataType; undefined where v2 has none (complex, DT_INVALID). */
export function v2DatatypeOf(dtype: number): V2Datatype | undefined {
  return BY_DTYPE.get(dtype);
}

/** Bytes per element of a fixed-size datatype in raw contents; 0 for BYTES. */
export function v2ElementBytes(datatype: V2Datatype): number {
  return ELEMENT_BYTES[datatype];
}
