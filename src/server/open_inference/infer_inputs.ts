/**
 * An Open Inference Protocol input as the native run takes it (a TensorSource), checked once:
 * its datatype is one the protocol has, its shape is whole sizes, and its contents hold exactly
 * the shape's elements. Raw contents are passed on as they are, viewed (the native run copies
 * them once into the framework's tensor, as it does TensorProto bytes); typed and JSON values
 * become a typed array of the datatype.
 */
import { invalidArgument } from '../../errors/serving_error';
import type { TensorSource } from '../../native/backend_addon';
import { DataType } from '../../tensors/data_type';
import { bfloat16Bits, halfBits } from '../../tensors/float16';
import { dataTypeOfV2, v2ElementBytes, type V2Datatype } from '../../tensors/v2_datatype';
import type { InferInput } from './infer_request';

/** The TensorSource of `input`; INVALID_ARGUMENT when it cannot be the tensor it says. */
export function tensorSourceOf(input: InferInput): TensorSource {
  const datatype = input.datatype as V2Datatype;
  const dtype = dataTypeOfV2(datatype);
  if (dtype === undefined) {
    throw invalidArgument(`input '${input.name}': unknown datatype '${input.datatype}'`);
  }
  const shape = input.shape;
  const elements = elementCount(input.name, shape);
  const { contents } = input;
  if ('raw' in contents) {
    const size = v2ElementBytes(datatype);
    // BYTES: the native run reads the elements' length prefixes, and checks their count.
    if (size > 0 && contents.raw.byteLength !== elements * size) {
      throw invalidArgument(
        `input '${input.name}': raw contents hold ${contents.raw.byteLength} bytes, but ${datatype} of shape ` +
          `[${shape.join(',')}] needs ${elements * size}`,
      );
    }
    return { dtype, shape, data: contents.raw };
  }
  const values: ArrayLike<unknown> = contents.values;
  if (values.length !== elements) {
    throw invalidArgument(
      `input '${input.name}': ${values.length} values, but shape [${shape.join(',')}] has ${elements} elements`,
    );
  }
  if (dtype === DataType.DT_STRING) {
    return {
      dtype: DataType.DT_STRING,
      shape,
      strings: Array.from(values, (v) => bytesOf(input.name, v)),
    };
  }
  return { dtype, shape, data: typedValues(input.name, datatype, values) };
}

function elementCount(name: string, shape: number[]): number {
  let elements = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw invalidArgument(`input '${name}': shape [${shape.join(',')}] has a dimension that is not a size >= 0`);
    }
    elements *= dim;
  }
  if (!Number.isSafeInteger(elements))
    throw invalidArgument(`input '${name}': shape [${shape.join(',')}] is too large`);
  return elements;
}

function bytesOf(name: string, value: unknown): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw invalidArgument(`input '${name}': BYTES data must be strings`);
}

type IntegerRange = readonly [min: number, max: number];
const INTEGER_RANGES: Partial<Record<V2Datatype, IntegerRange>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
};

/** The values as the datatype's typed array; a value the datatype cannot hold is INVALID_ARGUMENT. */
function typedValues(name: string, datatype: V2Datatype, values: ArrayLike<unknown>): ArrayBufferView {
  const bad = (value: unknown): never => {
    throw invalidArgument(`input '${name}': ${String(value)} is not a ${datatype} value`);
  };
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(values, (v) => (typeof v === 'boolean' ? Number(v) : bad(v)));
    case 'INT64':
    case 'UINT64': {
      const min = datatype === 'INT64' ? -(2n ** 63n) : 0n;
      const max = datatype === 'INT64' ? 2n ** 63n - 1n : 2n ** 64n - 1n;
      const big = (v: unknown): bigint => {
        const value = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : bad(v);
        return value >= min && value <= max ? value : bad(v);
      };
      return datatype === 'INT64' ? BigInt64Array.from(values, big) : BigUint64Array.from(values, big);
    }
    case 'FP16':
    case 'BF16': {
      const bits = datatype === 'FP16' ? halfBits : bfloat16Bits;
      return Uint16Array.from(values, (v) => (typeof v === 'number' ? bits(v) : bad(v)));
    }
    case 'FP32':
    case 'FP64': {
      const number = (v: unknown) => (typeof v === 'number' ? v : bad(v));
      return datatype === 'FP32' ? Float32Array.from(values, number) : Float64Array.from(values, number);
    }
    default: {
      const [min, max] = INTEGER_RANGES[datatype]!;
      const integer = (v: unknown) =>
        typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : bad(v);
      const typed = new TYPED_INTEGERS[datatype as keyof typeof TYPED_INTEGERS](values.length);
      for (let i = 0; i < values.length; ++i) typed[i] = integer(values[i]);
      return typed;
    }
  }
}

const TYPED_INTEGERS = {
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
} as const;
