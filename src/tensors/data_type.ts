/** tensorflow.DataType numbers (the wire enum), for the dtypes duoserve carries. */
export const DataType = {
  DT_INVALID: 0,
  DT_FLOAT: 1,
  DT_DOUBLE: 2,
  DT_INT32: 3,
  DT_UINT8: 4,
  DT_INT16: 5,
  DT_INT8: 6,
  DT_STRING: 7,
  DT_COMPLEX64: 8,
  DT_INT64: 9,
  DT_BOOL: 10,
  DT_BFLOAT16: 14,
  DT_UINT16: 17,
  DT_COMPLEX128: 18,
  DT_HALF: 19,
  DT_UINT32: 22,
  DT_UINT64: 23,
} as const;
export type DataTypeName = keyof typeof DataType;
export type DataTypeNumber = (typeof DataType)[DataTypeName];

const NAMES = new Map<number, DataTypeName>(
  Object.entries(DataType).map(([name, value]) => [value, name as DataTypeName]),
);

export function dataTypeName(dtype: number): string {
  return NAMES.get(dtype) ?? `DT_UNKNOWN_${dtype}`;
}

export function isSupportedDataType(dtype: number): dtype is DataTypeNumber {
  return dtype !== DataType.DT_INVALID && NAMES.has(dtype);
}

const SHORT_NAMES: Record<number, string> = {
  1: 'float',
  2: 'double',
  3: 'int32',
  4: 'uint8',
  5: 'int16',
  6: 'int8',
  7: 'string',
  8: 'complex64',
  9: 'int64',
  10: 'bool',
  14: 'bfloat16',
  17: 'uint16',
  18: 'complex128',
  19: 'half',
  22: 'uint32',
  23: 'uint64',
};

/** The dtype as TensorFlow's own error messages spell it ("float", "int64", ...). */
export function dataTypeShortName(dtype: number): string {
  return SHORT_NAMES[dtype] ?? dataTypeName(dtype);
}
