import { DataType } from './data_type';

/** TensorFlow's DataTypeString(): the lower-case names TF-Serving's messages use. */
const NAMES: Record<number, string> = {
  [DataType.DT_FLOAT]: 'float',
  [DataType.DT_DOUBLE]: 'double',
  [DataType.DT_INT32]: 'int32',
  [DataType.DT_UINT8]: 'uint8',
  [DataType.DT_INT16]: 'int16',
  [DataType.DT_INT8]: 'int8',
  [DataType.DT_STRING]: 'string',
  [DataType.DT_COMPLEX64]: 'complex64',
  [DataType.DT_INT64]: 'int64',
  [DataType.DT_BOOL]: 'bool',
  [DataType.DT_BFLOAT16]: 'bfloat16',
  [DataType.DT_UINT16]: 'uint16',
  [DataType.DT_COMPLEX128]: 'complex128',
  [DataType.DT_HALF]: 'half',
  [DataType.DT_UINT32]: 'uint32',
  [DataType.DT_UINT64]: 'uint64',
};

export function dataTypeString(dtype: number): string {
  return NAMES[dtype] ?? `unknown dtype enum (${dtype})`;
}

const BY_NAME = new Map(Object.entries(NAMES).map(([dtype, name]) => [name, Number(dtype)]));

/** The DataType DataTypeString() names `name` ("float" -> DT_FLOAT); undefined for any other name. */
export function dataTypeOfString(name: string): number | undefined {
  return BY_NAME.get(name);
}
