/**
 * The conditions of chain.pbtxt (ChainCondition: a step's `when`, an `exit`'s): read from the
 * text format, checked against the dtype and shape of the tensor they read once the step
 * signatures are known, and evaluated per request on the JS thread from a 'host' tensor, which
 * is why the tensor they read is bounded (MAX_CONDITION_VALUES). Every error is
 * INVALID_ARGUMENT and starts with `where` ("step 'rank' (model ranker): ", "exit #1: ").
 */
import type { PlainMessage } from '../../config/text_format';
import { invalidArgument } from '../../errors/serving_error';
import type { HostTensorOutput } from '../../native/backend_addon';
import type { TensorSpec } from '../../servables/signature';
import { DataType, dataTypeShortName } from '../../tensors/data_type';
import type { Fail, TensorRef } from './chain_definition';

/** The most values a condition reads: a larger tensor is refused at load or at run time. */
export const MAX_CONDITION_VALUES = 1024;

/** ChainCondition.Comparison, by enum number (0 is unspecified). */
const COMPARISONS = [undefined, 'EQUAL', 'NOT_EQUAL', 'LESS', 'LESS_EQUAL', 'GREATER', 'GREATER_EQUAL'] as const;
export type Comparison = NonNullable<(typeof COMPARISONS)[number]>;
/** ChainCondition.Values, by enum number. */
const REDUCTIONS = ['SINGLE', 'ANY', 'ALL'] as const;
export type Reduction = (typeof REDUCTIONS)[number];

export interface ChainCondition {
  readonly source: TensorRef;
  /** The source as written, for messages. */
  readonly sourceName: string;
  readonly op: Comparison;
  readonly values: Reduction;
  readonly constant: { readonly number: number } | { readonly text: string };
}

/** What a condition reads of a tensor: a step's output, of a model or of a function, or a decoded input. */
type ReadTensor = Pick<HostTensorOutput, 'dtype' | 'shape' | 'data' | 'strings'>;

/** A ChainCondition message whose source already parsed to `source`. */
export function readCondition(message: PlainMessage, source: TensorRef, where: string, fail: Fail): ChainCondition {
  const sourceName = String(message.source);
  const at = `${where}condition on '${sourceName}'`;
  const op = COMPARISONS[Number(message.op ?? 0)];
  if (op === undefined) throw fail(`${at} needs 'op' (EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER or GREATER_EQUAL)`);
  const values = REDUCTIONS[Number(message.values ?? 0)];
  if (values === undefined) throw fail(`${at}: 'values' is SINGLE, ANY or ALL, not ${String(message.values)}`);
  const hasNumber = message.number !== undefined;
  const hasText = message.text !== undefined;
  if (hasNumber === hasText) throw fail(`${at} needs one constant: 'number' or 'text'`);
  if (hasNumber && Number.isNaN(Number(message.number))) throw fail(`${at}: 'number' is NaN, which equals nothing`);
  const constant = hasNumber ? { number: Number(message.number) } : { text: String(message.text) };
  return { source, sourceName, op, values, constant };
}

/** Integer dtypes: the range a constant must lie in (64-bit ones: where a double is exact). */
const INTEGER_RANGES = new Map<number, readonly [number, number]>([
  [DataType.DT_INT8, [-(2 ** 7), 2 ** 7 - 1]],
  [DataType.DT_UINT8, [0, 2 ** 8 - 1]],
  [DataType.DT_INT16, [-(2 ** 15), 2 ** 15 - 1]],
  [DataType.DT_UINT16, [0, 2 ** 16 - 1]],
  [DataType.DT_INT32, [-(2 ** 31), 2 ** 31 - 1]],
  [DataType.DT_UINT32, [0, 2 ** 32 - 1]],
  [DataType.DT_INT64, [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]],
  [DataType.DT_UINT64, [0, Number.MAX_SAFE_INTEGER]],
]);

/**
 * Why `condition` cannot read a tensor of `spec` (dtype unknown, DT_INVALID, and unknown dims
 * pass: the run checks them), or undefined when it can.
 */
export function conditionMismatch(
  condition: ChainCondition,
  spec: Pick<TensorSpec, 'dtype' | 'shape'>,
): string | undefined {
  const { dtype, shape } = spec;
  const at = `condition on '${condition.sourceName}'`;
  if (dtype !== DataType.DT_INVALID) {
    const typed = `${at} (${dataTypeShortName(dtype)})`;
    const orderless = dtype === DataType.DT_STRING || dtype === DataType.DT_BOOL;
    const numeric = dtype === DataType.DT_FLOAT || dtype === DataType.DT_DOUBLE || INTEGER_RANGES.has(dtype);
    if (!numeric && !orderless) return `${typed}: ${dataTypeShortName(dtype)} values cannot be compared`;
    if (orderless && condition.op !== 'EQUAL' && condition.op !== 'NOT_EQUAL') {
      return `${typed}: ${dataTypeShortName(dtype)} values compare with EQUAL or NOT_EQUAL only, not ${condition.op}`;
    }
    if (dtype === DataType.DT_STRING) {
      if (!('text' in condition.constant)) return `${typed} takes a 'text' constant, not 'number'`;
    } else {
      if (!('number' in condition.constant)) return `${typed} takes a 'number' constant, not 'text'`;
      const value = condition.constant.number;
      const range = dtype === DataType.DT_BOOL ? ([0, 1] as const) : INTEGER_RANGES.get(dtype);
      if (range && !(Number.isInteger(value) && value >= range[0] && value <= range[1])) {
        return `${typed}: ${value} does not fit ${dataTypeShortName(dtype)} (an integer in [${range[0]}, ${range[1]}])`;
      }
    }
  }
  if (shape === null || shape.some((size) => size < 0)) return undefined;
  return countMismatch(
    condition,
    shape.reduce((product, size) => product * size, 1),
    `its shape [${shape.join(',')}]`,
  );
}

function countMismatch(condition: ChainCondition, count: number, holder: string): string | undefined {
  const at = `condition on '${condition.sourceName}'`;
  if (count > MAX_CONDITION_VALUES)
    return `${at} reads at most ${MAX_CONDITION_VALUES} values, but ${holder} holds ${count}`;
  if (condition.values === 'SINGLE' && count !== 1) {
    return `${at} needs exactly one value (values: SINGLE), but ${holder} holds ${count}; say values: ANY or ALL`;
  }
  return undefined;
}

/**
 * Whether `condition` holds for `tensor`, the tensor its source names in this request.
 * A tensor it cannot read fails with INVALID_ARGUMENT, `where` first.
 */
export function conditionHolds(condition: ChainCondition, tensor: ReadTensor, where: string): boolean {
  const count = tensor.shape.reduce((product, size) => product * size, 1);
  const mismatch =
    conditionMismatch(condition, { dtype: tensor.dtype, shape: null }) ??
    countMismatch(condition, count, `the tensor [${tensor.shape.join(',')}]`);
  if (mismatch !== undefined) throw invalidArgument(`${where}${mismatch}`);
  const compare = comparator(condition.op);
  const test: (i: number) => boolean =
    'text' in condition.constant
      ? textTest(tensor, condition.constant.text, compare)
      : numberTest(tensor, condition, compare);
  if (condition.values === 'ALL') {
    for (let i = 0; i < count; i++) if (!test(i)) return false;
    return true;
  }
  for (let i = 0; i < count; i++) if (test(i)) return true;
  return false;
}

type Compare = (order: number) => boolean;

/** Whether `op` holds for values whose order is `order` (<0, 0, >0: value vs constant). */
function comparator(op: Comparison): Compare {
  switch (op) {
    case 'EQUAL':
      return (order) => order === 0;
    case 'NOT_EQUAL':
      return (order) => order !== 0;
    case 'LESS':
      return (order) => order < 0;
    case 'LESS_EQUAL':
      return (order) => order <= 0;
    case 'GREATER':
      return (order) => order > 0;
    case 'GREATER_EQUAL':
      return (order) => order >= 0;
  }
}

function textTest(tensor: ReadTensor, text: string, compare: Compare): (i: number) => boolean {
  const strings = tensor.strings ?? [];
  const constant = Buffer.from(text, 'utf8');
  return (i) => compare(strings[i].compare(constant));
}

function numberTest(tensor: ReadTensor, condition: ChainCondition, compare: Compare): (i: number) => boolean {
  const value = (condition.constant as { number: number }).number;
  const buffer = tensor.data ?? new ArrayBuffer(0);
  const order = (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0);
  const against = (values: ArrayLike<number>, constant: number) => (i: number) => compare(order(values[i], constant));
  switch (tensor.dtype) {
    case DataType.DT_FLOAT:
      // The constant as the float it stands for: `number: 0.1` equals a float 0.1.
      return against(new Float32Array(buffer), Math.fround(value));
    case DataType.DT_DOUBLE:
      return against(new Float64Array(buffer), value);
    case DataType.DT_INT8:
      return against(new Int8Array(buffer), value);
    case DataType.DT_UINT8:
      return against(new Uint8Array(buffer), value);
    case DataType.DT_BOOL: {
      const bytes = new Uint8Array(buffer);
      return (i) => compare(order(bytes[i] === 0 ? 0 : 1, value));
    }
    case DataType.DT_INT16:
      return against(new Int16Array(buffer), value);
    case DataType.DT_UINT16:
      return against(new Uint16Array(buffer), value);
    case DataType.DT_INT32:
      return against(new Int32Array(buffer), value);
    case DataType.DT_UINT32:
      return against(new Uint32Array(buffer), value);
    case DataType.DT_INT64: {
      const values = new BigInt64Array(buffer);
      const constant = BigInt(value);
      return (i) => compare(order(values[i], constant));
    }
    default: {
      const values = new BigUint64Array(buffer);
      const constant = BigInt(value);
      return (i) => compare(order(values[i], constant));
    }
  }
}
