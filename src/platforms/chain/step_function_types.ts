/**
 * The types a chain's function step is written against (proto/duoserve/chain.proto, ChainStep's
 * `function`). A step's module is JavaScript in the chain's version directory; an author who
 * writes TypeScript imports these types and compiles with tsc before shipping:
 *
 *   import type { StepFunction } from 'duoserve/dist/src/platforms/chain/step_function_types';
 *   export const normalize: StepFunction = ({ x }) => ({ x: { shape: x.shape, data: scale(x.data) } });
 *
 * The function runs on a worker thread of its chain version's pool, never on the server's event
 * loop. It gets each declared input by name and returns each declared output by name (other
 * keys are ignored); it may be async. Each output is checked against its declaration on every
 * call (dtype, shape, element count), and a mismatch fails the request with INVALID_ARGUMENT
 * naming the step, as does a thrown error.
 */

/** tensorflow.DataType names a function step may declare. */
export type StepDataType =
  | 'DT_FLOAT'
  | 'DT_DOUBLE'
  | 'DT_INT8'
  | 'DT_INT16'
  | 'DT_INT32'
  | 'DT_INT64'
  | 'DT_UINT8'
  | 'DT_UINT16'
  | 'DT_UINT32'
  | 'DT_UINT64'
  | 'DT_BOOL'
  | 'DT_HALF'
  | 'DT_BFLOAT16'
  | 'DT_STRING';

/** The typed array of each dtype (DT_BOOL: 0 or 1; DT_HALF and DT_BFLOAT16: their raw bits). */
export interface StepTypedArrays {
  DT_FLOAT: Float32Array;
  DT_DOUBLE: Float64Array;
  DT_INT8: Int8Array;
  DT_INT16: Int16Array;
  DT_INT32: Int32Array;
  DT_INT64: BigInt64Array;
  DT_UINT8: Uint8Array;
  DT_UINT16: Uint16Array;
  DT_UINT32: Uint32Array;
  DT_UINT64: BigUint64Array;
  DT_BOOL: Uint8Array;
  DT_HALF: Uint16Array;
  DT_BFLOAT16: Uint16Array;
}

/** A numeric input: a view of the tensor's bytes, row-major. Treat it as read-only. */
export interface NumericStepTensor<D extends keyof StepTypedArrays = keyof StepTypedArrays> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: StepTypedArrays[D];
}

/** A DT_STRING input: one Buffer per element, row-major. */
export interface StringStepTensor {
  readonly dtype: 'DT_STRING';
  readonly shape: readonly number[];
  readonly strings: readonly Buffer[];
}

export type StepTensor = NumericStepTensor | StringStepTensor;

/**
 * An output: the typed array of its declared dtype (a new one, or an input's `data` passed
 * through as it came, which costs no copy) or, for DT_STRING, Buffers or Uint8Arrays. `dtype` may
 * be left out; when given it must be the declared one.
 */
export type StepOutput =
  | { dtype?: keyof StepTypedArrays; shape: readonly number[]; data: StepTypedArrays[keyof StepTypedArrays] }
  | { dtype?: 'DT_STRING'; shape: readonly number[]; strings: readonly Uint8Array[] };

/** A function step: declared inputs by name in, declared outputs by name out. */
export type StepFunction<
  Inputs extends Record<string, StepTensor> = Record<string, StepTensor>,
  Outputs extends Record<string, StepOutput> = Record<string, StepOutput>,
> = (inputs: Inputs) => Outputs | Promise<Outputs>;
