/**
 * A function step's declaration in chain.pbtxt (ChainStep's `function`, `module`,
 * `function_input`, `function_output`, `time_limit_ms`), read and checked for what needs no
 * file: the module path stays inside the version directory, names are unique, dtypes are ones a
 * step can take. Loading the module is step_pool.ts's.
 */
import * as path from 'node:path';
import type { PlainMessage } from '../../config/text_format';
import { PREDICT_METHOD_NAME, type Signature, type TensorSpec } from '../../servables/signature';
import { dataTypeName } from '../../tensors/data_type';
import type { Fail } from './chain_definition';
import { isStepDataType } from './step_tensors';

export interface FunctionDeclaration {
  /** The exported name of the function. */
  readonly exportName: string;
  /** The module, relative to the version directory, normalized ("steps.js", "lib/top_k.mjs"). */
  readonly module: string;
  /** Declared name -> dtype and shape (-1: any size); TensorSpec.name is the declared name. */
  readonly inputs: ReadonlyMap<string, TensorSpec>;
  readonly outputs: ReadonlyMap<string, TensorSpec>;
  readonly timeLimitMs: number;
}

/** A call's time limit when the step declares none. */
export const DEFAULT_TIME_LIMIT_MS = 1000;

/** ChainStep fields only a function step may set. */
export const FUNCTION_ONLY_FIELDS = ['module', 'function_input', 'function_output', 'time_limit_ms'] as const;
const MODEL_ONLY_FIELDS = ['version', 'version_label', 'signature_name'] as const;

const MODULE_EXTENSIONS = ['.js', '.cjs', '.mjs'];
const EXPORT_NAME = /^[A-Za-z_$][\w$]*$/;

export function readFunctionDeclaration(step: PlainMessage, name: string, fail: Fail): FunctionDeclaration {
  const exportName = String(step.function);
  const stepFail = (what: string) => fail(`step '${name}' (function ${exportName}): ${what}`);
  if (!EXPORT_NAME.test(exportName)) throw fail(`step '${name}': function '${exportName}' is not a JavaScript name`);
  const modelOnly = MODEL_ONLY_FIELDS.find((field) => step[field] !== undefined);
  if (modelOnly !== undefined) throw stepFail(`${modelOnly} is for model steps`);
  const module = modulePath(String(step.module ?? ''), stepFail);
  const inputs = tensorSpecs(step.function_input, 'function_input', stepFail);
  const outputs = tensorSpecs(step.function_output, 'function_output', stepFail);
  if (outputs.size === 0) throw stepFail('declares no function_output');
  const timeLimitMs = Number(step.time_limit_ms ?? 0) || DEFAULT_TIME_LIMIT_MS;
  return { exportName, module, inputs, outputs, timeLimitMs };
}

/** The signature a function step offers its neighbours: its declarations. */
export function functionSignature(declaration: FunctionDeclaration): Signature {
  return {
    methodName: PREDICT_METHOD_NAME,
    inputs: new Map(declaration.inputs),
    outputs: new Map(declaration.outputs),
  };
}

function modulePath(module: string, fail: (what: string) => Error): string {
  if (module === '') throw fail('names no module (a .js, .cjs or .mjs file in the version directory)');
  const normalized = path.posix.normalize(module);
  if (path.isAbsolute(module) || normalized.startsWith('../') || normalized === '..') {
    throw fail(`module '${module}' is not inside the version directory`);
  }
  if (!MODULE_EXTENSIONS.includes(path.posix.extname(normalized))) {
    throw fail(`module '${module}' is not a .js, .cjs or .mjs file`);
  }
  return normalized;
}

function tensorSpecs(value: unknown, field: string, fail: (what: string) => Error): Map<string, TensorSpec> {
  const specs = new Map<string, TensorSpec>();
  for (const [index, tensor] of ((value as PlainMessage[] | undefined) ?? []).entries()) {
    const name = String(tensor.name ?? '');
    if (name === '') throw fail(`${field} #${index + 1} has no name`);
    if (specs.has(name)) throw fail(`${field} '${name}' is declared twice`);
    const dtype = Number(tensor.dtype ?? 0);
    if (!isStepDataType(dtype)) {
      throw fail(
        `${field} '${name}' has dtype ${dataTypeName(dtype)}; a function step takes numeric dtypes and DT_STRING`,
      );
    }
    const shape = ((tensor.shape as string[] | undefined) ?? []).map(Number);
    if (!shape.every((size) => Number.isSafeInteger(size) && size >= -1)) {
      throw fail(`${field} '${name}' has shape [${shape.join(',')}]; sizes are >= 0, or -1 for any size`);
    }
    specs.set(name, { name, dtype, shape });
  }
  return specs;
}
