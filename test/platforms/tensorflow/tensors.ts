/**
 * Reference tensors (fixtures.ts) as every kind of addon input, and addon outputs of every
 * encoding back as plain values, so a test compares what TensorFlow computed in Python with
 * what the addon returns.
 */
import * as assert from 'node:assert/strict';
import { Writer } from 'protobufjs/minimal';
import {
  isHostTensorOutput,
  type HostTensorOutput,
  type NativeOutput,
  type TensorSource,
} from '../../../src/native/backend_addon';
import { Protos } from '../../../src/protos';
import { DataType } from '../../../src/tensors/data_type';
import type { ReferenceTensor } from './fixtures';

export type Values = Array<number | boolean | string>;

export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** float16 bits of a value that float16 represents exactly (all the fixtures use). */
export function numberToHalf(value: number): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude === 0) return sign;
  if (magnitude < 2 ** -14) return sign | Math.round(magnitude / 2 ** -24);
  const exponent = Math.floor(Math.log2(magnitude));
  const fraction = Math.round((magnitude / 2 ** exponent - 1) * 1024);
  return sign | ((exponent + 15) << 10) | fraction;
}

function typedArray(tensor: ReferenceTensor): ArrayBufferView {
  const numbers = tensor.values as number[];
  switch (tensor.dtype) {
    case DataType.DT_FLOAT:
      return Float32Array.from(numbers);
    case DataType.DT_DOUBLE:
      return Float64Array.from(numbers);
    case DataType.DT_INT32:
      return Int32Array.from(numbers);
    case DataType.DT_INT64:
      return BigInt64Array.from(numbers.map(BigInt));
    case DataType.DT_BOOL:
      return Uint8Array.from(tensor.values.map((v) => (v ? 1 : 0)));
    case DataType.DT_HALF:
      return Uint16Array.from(numbers.map(numberToHalf));
    default:
      throw new Error(`no typed array for dtype ${tensor.dtype}`);
  }
}

function stringBytes(tensor: ReferenceTensor): Buffer[] {
  return (tensor.values as string[]).map((v) => Buffer.from(v, 'base64'));
}

/** The {dtype, shape, data|strings} input form. */
export function fieldsSource(tensor: ReferenceTensor): TensorSource {
  if (tensor.dtype === DataType.DT_STRING) {
    return { dtype: DataType.DT_STRING, shape: tensor.shape, strings: stringBytes(tensor) };
  }
  return { dtype: tensor.dtype, shape: tensor.shape, data: typedArray(tensor) };
}

/** TensorProto bytes, with the typed repeated field TF-Serving clients write, or
 *  tensor_content (numeric dtypes) when `content` is set. */
export function tensorProtoBytes(tensor: ReferenceTensor, content = false): Uint8Array {
  const writer = Writer.create();
  writer.uint32((1 << 3) | 0).int32(tensor.dtype);
  const shape = Writer.create();
  for (const size of tensor.shape)
    shape
      .uint32((2 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 0)
      .int64(size)
      .ldelim();
  writer.uint32((2 << 3) | 2).bytes(shape.finish());
  if (tensor.dtype === DataType.DT_STRING) {
    for (const bytes of stringBytes(tensor)) writer.uint32((8 << 3) | 2).bytes(bytes);
    return writer.finish();
  }
  if (content) {
    const view = typedArray(tensor);
    writer.uint32((4 << 3) | 2).bytes(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    return writer.finish();
  }
  const values = tensor.values;
  writer.uint32((fieldOf(tensor.dtype) << 3) | 2).fork();
  for (const value of values) {
    switch (tensor.dtype) {
      case DataType.DT_FLOAT:
        writer.float(value as number);
        break;
      case DataType.DT_DOUBLE:
        writer.double(value as number);
        break;
      case DataType.DT_INT32:
        writer.int32(value as number);
        break;
      case DataType.DT_INT64:
        writer.int64(value as number);
        break;
      case DataType.DT_BOOL:
        writer.bool(value as boolean);
        break;
      case DataType.DT_HALF:
        writer.int32(numberToHalf(value as number));
        break;
    }
  }
  writer.ldelim();
  return writer.finish();
}

function fieldOf(dtype: number): number {
  const fields: Record<number, number> = {
    [DataType.DT_FLOAT]: 5,
    [DataType.DT_DOUBLE]: 6,
    [DataType.DT_INT32]: 7,
    [DataType.DT_INT64]: 10,
    [DataType.DT_BOOL]: 11,
    [DataType.DT_HALF]: 13,
  };
  const field = fields[dtype];
  if (field === undefined) throw new Error(`no typed field for dtype ${dtype}`);
  return field;
}

export interface PlainTensor {
  dtype: number;
  shape: number[];
  values: Values;
}

function valuesOfBytes(dtype: number, bytes: Uint8Array): Values {
  const copy = new Uint8Array(bytes).buffer; // aligned for the typed views below
  switch (dtype) {
    case DataType.DT_FLOAT:
      return [...new Float32Array(copy)];
    case DataType.DT_DOUBLE:
      return [...new Float64Array(copy)];
    case DataType.DT_INT32:
      return [...new Int32Array(copy)];
    case DataType.DT_INT64:
      return [...new BigInt64Array(copy)].map(Number);
    case DataType.DT_BOOL:
      return [...new Uint8Array(copy)].map((v) => v !== 0);
    case DataType.DT_HALF:
      return [...new Uint16Array(copy)].map(halfToNumber);
    default:
      throw new Error(`cannot read dtype ${dtype}`);
  }
}

/** A 'host' output as plain values. */
export function hostValues(output: HostTensorOutput): PlainTensor {
  const values =
    output.dtype === DataType.DT_STRING
      ? output.strings!.map((s) => s.toString('base64'))
      : valuesOfBytes(output.dtype, new Uint8Array(output.data!));
  return { dtype: output.dtype, shape: output.shape, values };
}

/** A 'fields' or 'content' output (TensorProto bytes) as plain values. */
export function protoValues(bytes: Uint8Array): PlainTensor {
  const proto = Protos.TensorProto.toObject(Protos.TensorProto.decode(bytes), {
    longs: Number,
    enums: Number,
    bytes: Buffer,
    defaults: true,
    arrays: true,
  }) as Record<string, any>;
  const dtype: number = proto.dtype;
  const shape: number[] = proto.tensor_shape.dim.map((d: { size: number }) => d.size);
  let values: Values;
  if (proto.tensor_content.length > 0) values = valuesOfBytes(dtype, proto.tensor_content);
  else if (dtype === DataType.DT_STRING) values = proto.string_val.map((b: Buffer) => b.toString('base64'));
  else if (dtype === DataType.DT_HALF) values = proto.half_val.map(halfToNumber);
  else if (dtype === DataType.DT_FLOAT) values = proto.float_val;
  else if (dtype === DataType.DT_DOUBLE) values = proto.double_val;
  else if (dtype === DataType.DT_INT32) values = proto.int_val;
  else if (dtype === DataType.DT_INT64) values = proto.int64_val;
  else if (dtype === DataType.DT_BOOL) values = proto.bool_val;
  else throw new Error(`cannot read dtype ${dtype}`);
  return { dtype, shape, values };
}

export function plainOutput(output: NativeOutput): PlainTensor {
  if (output instanceof Uint8Array) return protoValues(output);
  assert.ok(isHostTensorOutput(output), 'expected a host output');
  return hostValues(output);
}

/** Equal dtype and shape; values equal, floats within a relative 1e-5. */
export function assertTensorMatches(actual: PlainTensor, expected: ReferenceTensor, what: string): void {
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.equal(actual.values.length, expected.values.length, `${what}: number of values`);
  const floating = new Set<number>([DataType.DT_FLOAT, DataType.DT_DOUBLE, DataType.DT_HALF]).has(expected.dtype);
  expected.values.forEach((want, i) => {
    const got = actual.values[i];
    if (floating && typeof want === 'number' && typeof got === 'number') {
      assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${what}[${i}]: ${got} != ${want}`);
    } else {
      assert.equal(got, want, `${what}[${i}]`);
    }
  });
}
