/**
 * The TorchScript fixtures (test/fixtures/export_torch_fixtures.py, exported by setup into
 * var/models/test/pytorch; exported here on first use when setup has not run) and helpers to
 * build addon inputs and read outputs.
 */
import { execFileSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

import { HostTensorOutput, isHostTensorOutput, NativeOutput } from '../../../src/native/backend_addon';
import { DataType, DataTypeName } from '../../../src/tensors/data_type';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
export const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const FIXTURES_DIR = path.join(REPO_ROOT, 'var', 'models', 'test', 'pytorch');

export interface TensorJson {
  dtype: DataTypeName;
  shape: number[];
  values: Array<number | boolean>;
}
export interface TorchReference {
  inputs: Record<string, TensorJson>;
  outputs: Record<string, TensorJson>;
}

/** Exports the fixtures once per checkout (setup.sh normally has). */
export function torchFixturesDir(): string {
  if (!fs.existsSync(path.join(FIXTURES_DIR, 'int_bool', 'reference.json'))) {
    execFileSync(PYTHON, [path.join(REPO_ROOT, 'test', 'fixtures', 'export_torch_fixtures.py'), FIXTURES_DIR], {
      stdio: 'inherit',
    });
  }
  return FIXTURES_DIR;
}

/** The version directory of one fixture model. */
export function torchModel(name: string): string {
  return path.join(torchFixturesDir(), name, '1');
}

export function torchReference(name: string): TorchReference {
  return JSON.parse(fs.readFileSync(path.join(torchFixturesDir(), name, 'reference.json'), 'utf8'));
}

export function typedArray(dtype: DataTypeName, values: Array<number | boolean>): ArrayBufferView {
  switch (dtype) {
    case 'DT_FLOAT':
      return Float32Array.from(values as number[]);
    case 'DT_DOUBLE':
      return Float64Array.from(values as number[]);
    case 'DT_INT32':
      return Int32Array.from(values as number[]);
    case 'DT_INT64':
      return BigInt64Array.from(values as number[], (v) => BigInt(v));
    case 'DT_BOOL':
      return Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0));
    default:
      throw new Error(`no typed array for ${dtype}`);
  }
}

/** A numeric TensorSource: {dtype, shape, data}. */
export function tensorSource(tensor: TensorJson): { dtype: number; shape: number[]; data: ArrayBufferView } {
  return { dtype: DataType[tensor.dtype], shape: tensor.shape, data: typedArray(tensor.dtype, tensor.values) };
}

/** A TensorProto with dtype (1), tensor_shape (2) {dim (2) {size (1)}} and tensor_content (4). */
export function tensorProtoBytes(tensor: TensorJson): Uint8Array {
  const content = typedArray(tensor.dtype, tensor.values);
  const writer = protobuf.Writer.create();
  writer.uint32((1 << 3) | 0).int32(DataType[tensor.dtype]);
  writer.uint32((2 << 3) | 2).fork();
  for (const size of tensor.shape)
    writer
      .uint32((2 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 0)
      .int64(size)
      .ldelim();
  writer.ldelim();
  writer.uint32((4 << 3) | 2).bytes(new Uint8Array(content.buffer, content.byteOffset, content.byteLength));
  return writer.finish();
}

/** Reads dtype, shape and tensor_content back from a TensorProto ('content' encoding). */
export function decodeTensorContent(bytes: Uint8Array): { dtype: number; shape: number[]; content: Uint8Array } {
  const reader = protobuf.Reader.create(bytes);
  let dtype = 0;
  const shape: number[] = [];
  let content: Uint8Array = new Uint8Array(0);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) dtype = reader.int32();
    else if (tag >>> 3 === 2) {
      const end = reader.uint32() + reader.pos;
      while (reader.pos < end) {
        const dimTag = reader.uint32();
        if (dimTag >>> 3 !== 2) {
          reader.skipType(dimTag & 7);
          continue;
        }
        const dimEnd = reader.uint32() + reader.pos;
        let size = 0;
        while (reader.pos < dimEnd) {
          const fieldTag = reader.uint32();
          if (fieldTag >>> 3 === 1) size = Number(reader.int64());
          else reader.skipType(fieldTag & 7);
        }
        shape.push(size);
      }
    } else if (tag >>> 3 === 4) content = reader.bytes();
    else reader.skipType(tag & 7);
  }
  return { dtype, shape, content };
}

/** The values of raw little-endian bytes of `dtype`, as numbers (bools as 0/1). */
export function valuesOf(dtype: number, bytes: ArrayBuffer | Uint8Array): number[] {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const aligned = new Uint8Array(view).buffer; // a copy: typed arrays need their element alignment
  switch (dtype) {
    case DataType.DT_FLOAT:
      return Array.from(new Float32Array(aligned));
    case DataType.DT_DOUBLE:
      return Array.from(new Float64Array(aligned));
    case DataType.DT_INT32:
      return Array.from(new Int32Array(aligned));
    case DataType.DT_INT64:
      return Array.from(new BigInt64Array(aligned), Number);
    case DataType.DT_BOOL:
      return Array.from(new Uint8Array(aligned));
    default:
      throw new Error(`no reader for dtype ${dtype}`);
  }
}

export function asHost(output: NativeOutput): HostTensorOutput {
  assert.ok(isHostTensorOutput(output), 'expected a host output');
  return output;
}

export function outputMap<T>(outputs: Array<[string, T]>): Map<string, T> {
  return new Map(outputs);
}

/** Asserts a host output equals a reference tensor (floats within `tolerance`). */
export function assertHostEquals(output: NativeOutput, expected: TensorJson, tolerance = 1e-5): void {
  const host = asHost(output);
  assert.equal(host.dtype, DataType[expected.dtype]);
  assert.deepEqual(host.shape, expected.shape);
  assertValuesClose(valuesOf(host.dtype, host.data!), expected.values, tolerance);
}

export function assertValuesClose(actual: number[], expected: Array<number | boolean>, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length, 'element count');
  actual.forEach((value, i) => {
    const want = Number(expected[i]);
    assert.ok(Math.abs(value - want) <= tolerance * Math.max(1, Math.abs(want)), `element ${i}: ${value} != ${want}`);
  });
}

/** Asserts that `promise` rejects with an Error whose `code` is `code` and message matches. */
export async function assertRejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error & { code?: string }) => {
    assert.equal(error.code, code, `code of: ${error.message}`);
    if (message) assert.match(error.message, message);
    return true;
  });
}
