/**
 * A worker thread of a chain version's step pool (step_pool.ts): imports the version's step
 * modules (once per thread, by absolute path: the pool, and so this thread's module cache,
 * belongs to one chain version) and calls their functions. What a call returns is checked
 * against the step's declared outputs here, where the typed arrays are; outputs travel back
 * transferred, not copied. Errors travel back as data (a thrown Error would lose its kind).
 */
import { Piscina } from 'piscina';
import { pathToFileURL } from 'node:url';
import type { TensorSpec } from '../../servables/signature';
import { checkedOutput, type NumericWireTensor, viewOf, type WireTensor } from './step_tensors';

export interface LoadTask {
  op: 'load';
  file: string;
  exportName: string;
  /** Set (element 0 to 1, notified) as this thread takes the task: the time limit starts then. */
  started?: Int32Array;
}

export interface CallTask {
  op: 'call';
  file: string;
  exportName: string;
  inputs: Array<[string, WireTensor]>;
  outputs: Array<[string, TensorSpec]>;
  started?: Int32Array;
}

/** An output: a tensor, or the name of the input returned as it came (the caller still has it). */
export type WireOutput = WireTensor | { passThrough: string };

type InputView = ReturnType<typeof viewOf>;

export type StepOutcome =
  | { ok: true; outputs: Array<[string, WireOutput]> }
  | { ok: false; kind: 'load' | 'threw' | 'output'; message: string };

// TypeScript compiles import() to require() for CommonJS output; an .mjs module needs the real one.
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<Record<string, unknown>>;

const functions = new Map<string, Promise<(inputs: Record<string, unknown>) => unknown>>();

async function load(file: string, exportName: string): Promise<(inputs: Record<string, unknown>) => unknown> {
  const key = `${file}\0${exportName}`;
  let loaded = functions.get(key);
  if (!loaded) {
    loaded = importModule(pathToFileURL(file).href).then((module) => {
      // A CommonJS module's exports are also its `default` (named ones only where Node can tell).
      const exported = module[exportName] ?? (module.default as Record<string, unknown> | undefined)?.[exportName];
      if (typeof exported !== 'function') {
        throw new Error(`exports no function '${exportName}' (it exports: ${exportNames(module)})`);
      }
      return exported as (inputs: Record<string, unknown>) => unknown;
    });
    functions.set(key, loaded);
    loaded.catch(() => functions.delete(key));
  }
  return loaded;
}

function exportNames(module: Record<string, unknown>): string {
  const names = new Set(Object.keys(module));
  const fallback = module.default;
  if (typeof fallback === 'object' && fallback !== null) for (const name of Object.keys(fallback)) names.add(name);
  names.delete('default');
  return [...names].sort().join(', ').slice(0, 200) || 'nothing';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function runStepTask(task: LoadTask | CallTask): Promise<StepOutcome> {
  if (task.started) {
    Atomics.store(task.started, 0, 1);
    Atomics.notify(task.started, 0);
  }
  let fn;
  try {
    fn = await load(task.file, task.exportName);
  } catch (error) {
    return { ok: false, kind: 'load', message: messageOf(error) };
  }
  if (task.op === 'load') return { ok: true, outputs: [] };

  const views = new Map<string, InputView>();
  for (const [name, tensor] of task.inputs) views.set(name, viewOf(tensor));
  let returned: unknown;
  try {
    returned = await fn(Object.fromEntries(views));
  } catch (error) {
    return { ok: false, kind: 'threw', message: messageOf(error) };
  }
  if (typeof returned !== 'object' || returned === null) {
    return { ok: false, kind: 'output', message: 'returned no object of outputs' };
  }
  const outputs: Array<[string, WireOutput]> = [];
  const transfer = new Set<ArrayBuffer>();
  for (const [name, spec] of task.outputs) {
    const value = (returned as Record<string, unknown>)[name];
    if (value === undefined) return { ok: false, kind: 'output', message: `returned no output '${name}'` };
    const checked = checkedOutput(value, spec);
    if (typeof checked === 'string') return { ok: false, kind: 'output', message: `output '${name}' ${checked}` };
    const passed = passedThrough(value, views);
    if (passed !== undefined) outputs.push([name, { passThrough: passed }]);
    else outputs.push([name, 'data' in checked ? ownedBytes(checked, transfer) : checked]);
  }
  return moved({ ok: true, outputs }, [...transfer]);
}

/** The input that `value` (already checked) returns as it came, same values and shape, if any. */
function passedThrough(value: unknown, views: Map<string, InputView>): string | undefined {
  const { data, strings, shape } = value as { data?: unknown; strings?: unknown; shape: number[] };
  for (const [name, view] of views) {
    const same = data !== undefined ? view.data === data : view.strings === strings;
    if (same && view.shape.length === shape.length && view.shape.every((size, i) => size === shape[i])) return name;
  }
  return undefined;
}

/**
 * Bytes the worker can hand over without a copy: an ArrayBuffer the output fills is
 * transferred; a view of part of a buffer (a pooled Buffer, a subarray) is copied out first.
 */
function ownedBytes(tensor: NumericWireTensor, transfer: Set<ArrayBuffer>): WireTensor {
  const whole = tensor.byteOffset === 0 && tensor.byteLength === tensor.data.byteLength;
  const data =
    whole && tensor.data instanceof ArrayBuffer
      ? tensor.data
      : tensor.data.slice(tensor.byteOffset, tensor.byteOffset + tensor.byteLength);
  transfer.add(data);
  return { ...tensor, data, byteOffset: 0 };
}

/** piscina's transferable result: the outcome, with `buffers` moved rather than copied. */
function moved(outcome: StepOutcome, buffers: ArrayBuffer[]): StepOutcome {
  const transferable = { [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: outcome };
  return Piscina.move(transferable as unknown as ArrayBuffer) as unknown as StepOutcome;
}
