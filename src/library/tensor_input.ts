/**
 * Input tensors as the duoserve package takes them (ModelHost and the clients alike): what the
 * server feeds models (a TensorSource), with the dtype by number or by TensorFlow's name for it.
 */
import { invalidArgument } from '../errors/serving_error';
import type { TensorSource } from '../native/backend_addon';
import { dataTypeOfString } from '../tensors/data_type_string';

/** A dtype as tensorflow.DataType's number (DataType.DT_FLOAT) or TensorFlow's name for it ("float", "int64"). */
export type DtypeName = number | string;

/**
 * An input: TensorProto bytes, a dense typed array with its shape (int64 as BigInt64Array), strings
 * as byte arrays, or (in-process only) a HostTensorHandle an earlier output carries.
 */
export type TensorInput =
  | TensorSource
  | { dtype: DtypeName; shape: number[]; data: ArrayBufferView }
  | { dtype: DtypeName; shape: number[]; strings: Uint8Array[] };

/** The TensorSource `input` stands for; an unknown dtype name is INVALID_ARGUMENT naming the input. */
export function tensorSourceOf(alias: string, input: TensorInput): TensorSource {
  if (input instanceof Uint8Array || !('dtype' in input) || typeof input.dtype === 'number') {
    return input as TensorSource;
  }
  const dtype = dataTypeOfString(input.dtype);
  if (dtype === undefined) throw invalidArgument(`input ${alias}: unknown dtype "${input.dtype}"`);
  return { ...input, dtype } as TensorSource;
}

/** Every input of a request as a TensorSource, by alias. */
export function tensorSourcesOf(
  inputs: Readonly<Record<string, TensorInput>> | ReadonlyMap<string, TensorInput>,
): Map<string, TensorSource> {
  const entries = inputs instanceof Map ? [...inputs] : Object.entries(inputs);
  return new Map(entries.map(([alias, input]) => [alias, tensorSourceOf(alias, input)]));
}
