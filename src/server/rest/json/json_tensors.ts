/**
 * JSON values -> tensors, by TF-Serving's rules (json_tensor.cc): the shape comes from the
 * nesting (the first element at each level), every list must match it, scalars sit only at
 * the innermost level, and each scalar must fit the input's dtype. The result is a
 * TensorSource the addons take directly: a typed array in the dtype's layout, or Buffers
 * for DT_STRING ({"b64": ...} objects decoded).
 *
 * duoserve extensions, for dtypes TF-Serving's JSON does not carry: half and bfloat16 take
 * numbers (stored as 16-bit patterns), and complex values are [real, imaginary] pairs, so a
 * complex tensor's JSON nests one level deeper than its shape.
 */
import { invalidArgument, unimplemented } from '../../../errors/serving_error';
import { DataType } from '../../../tensors/data_type';
import { dataTypeString } from '../../../tensors/data_type_string';
import { bfloat16Bits, halfBits } from '../../../tensors/float16';
import { isBase64Object, isJsonObject, JsonValue, jsonTypeName, jsonValueText } from './json_value';

export type JsonTensor =
  { dtype: number; shape: number[]; data: ArrayBufferView } | { dtype: 7; shape: number[]; strings: Uint8Array[] };

/** TensorFlow's own limit on rank. */
const MAX_RANK = 254;

/** The dtype a value gets when the model does not say: the kind of its first scalar. */
export function inferDataType(value: JsonValue): number {
  let first = value;
  while (Array.isArray(first) && first.length > 0) first = first[0];
  if (typeof first === 'boolean') return DataType.DT_BOOL;
  if (typeof first === 'string' || isJsonObject(first)) return DataType.DT_STRING;
  return DataType.DT_FLOAT;
}

/**
 * The shape the nesting implies, following first elements (GetDenseTensorShape). `maxRank`:
 * less than MAX_RANK for an instance, whose batch adds a dimension.
 */
export function jsonShape(value: JsonValue, maxRank = MAX_RANK): number[] {
  const shape: number[] = [];
  let level = value;
  while (Array.isArray(level)) {
    if (shape.length === maxRank) {
      throw invalidArgument(`JSON value nests deeper than ${maxRank} levels; the maximum tensor rank is ${MAX_RANK}`);
    }
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

export function elementCount(shape: number[]): number {
  return shape.reduce((count, size) => count * size, 1);
}

export function shapeString(shape: number[] | null): string {
  return shape === null ? '[?]' : `[${shape.join(',')}]`;
}

export function isComplex(dtype: number): boolean {
  return dtype === DataType.DT_COMPLEX64 || dtype === DataType.DT_COMPLEX128;
}

/** A whole tensor from its JSON value (the columnar format). DT_INVALID: inferred. */
export function tensorFromJson(value: JsonValue, dtype: number): JsonTensor {
  const resolved = dtype === DataType.DT_INVALID ? inferDataType(value) : dtype;
  const layout = jsonShape(value);
  const shape = tensorShapeOf(resolved, layout, value);
  const storage = storageFor(resolved, elementCount(layout));
  fillValues(value, layout, storage, 0);
  return storage.tensor(shape);
}

/**
 * One named input across the instances of a row-format request: each instance is converted
 * like a whole tensor, all must have the same shape, and they stack along a new dimension 0.
 */
export class InstanceBatch {
  private dtype: number;
  private layout: number[] = [];
  private instanceSize = 0;
  private storage?: TensorStorage;
  private added = 0;

  constructor(
    dtype: number,
    private readonly instanceCount: number,
  ) {
    this.dtype = dtype;
  }

  add(value: JsonValue): void {
    const layout = jsonShape(value, MAX_RANK - 1);
    if (!this.storage) {
      if (this.dtype === DataType.DT_INVALID) this.dtype = inferDataType(value);
      this.layout = layout;
      this.instanceSize = elementCount(layout);
      tensorShapeOf(this.dtype, layout, value);
      this.storage = storageFor(this.dtype, this.instanceCount * this.instanceSize);
    }
    if (sameShape(layout, this.layout)) {
      fillValues(value, layout, this.storage, this.added * this.instanceSize);
      this.added++;
      return;
    }
    // Report what is wrong inside this instance first, as TF-Serving does, then the mismatch.
    const size = elementCount(layout);
    fillValues(value, layout, storageFor(this.dtype, size), 0);
    if (size !== this.instanceSize) {
      throw invalidArgument(`Expecting tensor size: ${this.instanceSize} but got: ${size}`);
    }
    throw invalidArgument(`Expecting shape ${shapeString(this.layout)} but got: ${shapeString(layout)}`);
  }

  tensor(): JsonTensor {
    const storage = this.storage ?? storageFor(this.dtype === DataType.DT_INVALID ? DataType.DT_FLOAT : this.dtype, 0);
    const instanceShape = isComplex(this.dtype) ? this.layout.slice(0, -1) : this.layout;
    return storage.tensor([this.added, ...instanceShape]);
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}

/** The tensor's shape given its JSON layout: complex values add a trailing pair level. */
function tensorShapeOf(dtype: number, layout: number[], value: JsonValue): number[] {
  if (!isComplex(dtype)) return layout;
  if (layout.length === 0 || layout[layout.length - 1] !== 2) {
    throw invalidArgument(
      `JSON Value: ${jsonValueText(value)} is not of expected type: ${dataTypeString(dtype)} (complex values are [real, imaginary] pairs)`,
    );
  }
  return layout.slice(0, -1);
}

/** Writes the scalars of `value` at `offset`..., checking the nesting (FillTensorProto). */
function fillValues(value: JsonValue, layout: number[], storage: TensorStorage, offset: number): void {
  let next = offset;
  const visit = (item: JsonValue, level: number): void => {
    if (!Array.isArray(item)) {
      if (level !== layout.length) {
        throw invalidArgument(
          `JSON Value: ${jsonValueText(item)} found at incorrect level: ${level + 1} in the JSON DOM. Expected at level: ${layout.length}`,
        );
      }
      storage.store(next++, item);
      return;
    }
    if (level >= layout.length) {
      throw invalidArgument(`Encountered list at unexpected level: ${level} expected < ${layout.length}`);
    }
    if (item.length !== layout[level]) {
      throw invalidArgument(
        `Encountered list at unexpected size: ${item.length} at level: ${level} expected size: ${layout[level]}`,
      );
    }
    for (const element of item) visit(element, level + 1);
  };
  visit(value, 0);
}

interface TensorStorage {
  store(index: number, scalar: JsonValue): void;
  tensor(shape: number[]): JsonTensor;
}

function typeError(scalar: JsonValue, dtype: number): Error {
  return invalidArgument(
    `JSON Value: ${jsonValueText(scalar)} Type: ${jsonTypeName(scalar)} is not of expected type: ${dataTypeString(dtype)}`,
  );
}

function numericStorage<T extends { [index: number]: number | bigint } & ArrayBufferView>(
  dtype: number,
  data: T,
  convert: (scalar: JsonValue) => T[number],
): TensorStorage {
  return {
    store(index, scalar) {
      data[index] = convert(scalar);
    },
    tensor: (shape) => ({ dtype, shape, data }),
  };
}

function storageFor(dtype: number, count: number): TensorStorage {
  const decimal = (scalar: JsonValue): number => {
    if (typeof scalar === 'number') return scalar;
    if (typeof scalar === 'bigint') return Number(scalar);
    throw typeError(scalar, dtype);
  };
  const integer =
    (min: number, max: number) =>
    (scalar: JsonValue): number => {
      if (typeof scalar === 'number' && Number.isInteger(scalar) && scalar >= min && scalar <= max) return scalar;
      throw typeError(scalar, dtype);
    };
  const integer64 =
    (min: bigint, max: bigint) =>
    (scalar: JsonValue): bigint => {
      const value = typeof scalar === 'number' && Number.isInteger(scalar) ? BigInt(scalar) : scalar;
      if (typeof value === 'bigint' && value >= min && value <= max) return value;
      throw typeError(scalar, dtype);
    };
  switch (dtype) {
    case DataType.DT_FLOAT:
      return numericStorage(dtype, new Float32Array(count), decimal);
    case DataType.DT_DOUBLE:
      return numericStorage(dtype, new Float64Array(count), decimal);
    case DataType.DT_HALF:
      return numericStorage(dtype, new Uint16Array(count), (scalar) => halfBits(decimal(scalar)));
    case DataType.DT_BFLOAT16:
      return numericStorage(dtype, new Uint16Array(count), (scalar) => bfloat16Bits(decimal(scalar)));
    case DataType.DT_COMPLEX64:
      return numericStorage(dtype, new Float32Array(count), decimal);
    case DataType.DT_COMPLEX128:
      return numericStorage(dtype, new Float64Array(count), decimal);
    case DataType.DT_INT8:
      return numericStorage(dtype, new Int8Array(count), integer(-0x80, 0x7f));
    case DataType.DT_UINT8:
      return numericStorage(dtype, new Uint8Array(count), integer(0, 0xff));
    case DataType.DT_INT16:
      return numericStorage(dtype, new Int16Array(count), integer(-0x8000, 0x7fff));
    case DataType.DT_UINT16:
      return numericStorage(dtype, new Uint16Array(count), integer(0, 0xffff));
    case DataType.DT_INT32:
      return numericStorage(dtype, new Int32Array(count), integer(-0x80000000, 0x7fffffff));
    case DataType.DT_UINT32:
      return numericStorage(dtype, new Uint32Array(count), integer(0, 0xffffffff));
    case DataType.DT_INT64:
      return numericStorage(dtype, new BigInt64Array(count), integer64(-(2n ** 63n), 2n ** 63n - 1n));
    case DataType.DT_UINT64:
      return numericStorage(dtype, new BigUint64Array(count), integer64(0n, 2n ** 64n - 1n));
    case DataType.DT_BOOL:
      return numericStorage(dtype, new Uint8Array(count), (scalar) => {
        if (typeof scalar === 'boolean') return scalar ? 1 : 0;
        throw typeError(scalar, dtype);
      });
    case DataType.DT_STRING:
      return stringStorage(count);
    default:
      return {
        store(_index, scalar) {
          throw unimplemented(`Conversion of JSON Value: ${jsonValueText(scalar)} to type: ${dataTypeString(dtype)}`);
        },
        tensor: () => {
          throw unimplemented(`Conversion of JSON to type: ${dataTypeString(dtype)}`);
        },
      };
  }
}

function stringStorage(count: number): TensorStorage {
  const strings: Uint8Array[] = new Array<Uint8Array>(count);
  return {
    store(index, scalar) {
      if (typeof scalar === 'string') strings[index] = Buffer.from(scalar, 'utf8');
      else if (isJsonObject(scalar)) strings[index] = decodeBase64Object(scalar);
      else throw typeError(scalar, DataType.DT_STRING);
    },
    tensor: (shape) => ({ dtype: DataType.DT_STRING, shape, strings }),
  };
}

const BASE64 = /^[A-Za-z0-9+/]*$/;
const WHITESPACE = /[\t\n\v\f\r ]+/g;

/** {"b64": "..."}: standard alphabet, padding optional, whitespace ignored (absl's rules). */
export function decodeBase64Object(value: JsonValue): Buffer {
  if (!isBase64Object(value)) {
    throw invalidArgument(`JSON Value: ${jsonValueText(value)} not formatted correctly for base64 data`);
  }
  const text = value.b64.replace(WHITESPACE, '');
  const unpadded = text.replace(/={1,2}$/, '');
  const padded = unpadded.length !== text.length;
  if (!BASE64.test(unpadded) || unpadded.length % 4 === 1 || (padded && text.length % 4 !== 0)) {
    throw invalidArgument('Unable to base64 decode');
  }
  return Buffer.from(unpadded, 'base64');
}
