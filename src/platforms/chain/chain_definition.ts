/**
 * chain.pbtxt (a duoserve.chain.ChainDefinition in protobuf text format, see
 * proto/duoserve/chain.proto) read and checked for what needs no model: names, references
 * between steps, cycles, unused inputs and steps. What needs the step models' signatures is
 * checked in chain_signature.ts. Every error is an INVALID_ARGUMENT ServingError whose message
 * starts with the file name (and line:column for text-format errors, which never quote the
 * file: its load error reaches clients, and the file may be anything).
 */
import { parseTextFormatToObject, type PlainMessage } from '../../config/text_format';
import type { ServableRequest } from '../../core/servable_request';
import { invalidArgument, toServingError } from '../../errors/serving_error';
import { Protos } from '../../protos';
import { DEFAULT_SIGNATURE_NAME } from '../../servables/signature';
import { type FunctionDeclaration, FUNCTION_ONLY_FIELDS, readFunctionDeclaration } from './function_declaration';

/** The prefix of a reference to a chain input: "request:<input>". */
export const REQUEST_PREFIX = 'request';

/** Where a step input or a chain output takes its tensor from. */
export type TensorRef = RequestInputRef | StepOutputRef;
export interface RequestInputRef {
  readonly kind: 'request';
  readonly input: string;
}
export interface StepOutputRef {
  readonly kind: 'step';
  readonly step: string;
  readonly output: string;
}

/** A step runs a model or calls a function; both take their inputs the same way. */
export type ChainStepDefinition = ModelStepDefinition | FunctionStepDefinition;

interface StepInputs {
  readonly name: string;
  /** Signature input alias (a function step: declared input name) -> its tensor's origin. */
  readonly inputs: ReadonlyMap<string, TensorRef>;
}

export interface ModelStepDefinition extends StepInputs {
  readonly kind: 'model';
  /** The model and the version (or label, or neither for the latest) each request runs. */
  readonly model: ServableRequest;
  readonly signatureName: string;
}

export interface FunctionStepDefinition extends StepInputs {
  readonly kind: 'function';
  readonly function: FunctionDeclaration;
}

export interface ChainDefinition {
  readonly inputs: readonly string[];
  /** Every step after the steps it takes inputs from. */
  readonly steps: readonly ChainStepDefinition[];
  readonly outputs: ReadonlyMap<string, StepOutputRef>;
}

const STEP_NAME = /^[a-z0-9_-]+$/;

export function refString(ref: TensorRef): string {
  return ref.kind === 'request' ? `${REQUEST_PREFIX}:${ref.input}` : `${ref.step}:${ref.output}`;
}

/** How a step is named in messages: "step 'rank' (model ranker)", "step 'top' (function topK in steps.js)". */
export function stepLabel(step: ChainStepDefinition): string {
  if (step.kind === 'function')
    return `step '${step.name}' (function ${step.function.exportName} in ${step.function.module})`;
  return `step '${step.name}' (model ${step.model.name})`;
}

/** Parses and checks the text of chain.pbtxt; `fileName` starts every error message. */
export function parseChainDefinition(text: string, fileName: string): ChainDefinition {
  let message: PlainMessage;
  try {
    message = parseTextFormatToObject(Protos.ChainDefinition, text, fileName, { quoteText: false });
  } catch (error) {
    throw toServingError(error);
  }
  const fail = (what: string) => invalidArgument(`${fileName}: ${what}`);
  const inputs = list(message.input).map((input, index) => {
    const name = String(input.name ?? '');
    if (name === '') throw fail(`input #${index + 1} has no name`);
    return name;
  });
  const duplicateInput = firstDuplicate(inputs);
  if (duplicateInput !== undefined) throw fail(`input '${duplicateInput}' is declared twice`);

  const steps = list(message.step).map((step, index) => readStep(step, index, fail));
  if (steps.length === 0) throw fail('a chain needs at least one step');
  const duplicateStep = firstDuplicate(steps.map((step) => step.name));
  if (duplicateStep !== undefined) throw fail(`step name '${duplicateStep}' is used twice`);

  const outputs = new Map<string, StepOutputRef>();
  for (const [index, output] of list(message.output).entries()) {
    const name = String(output.name ?? '');
    if (name === '') throw fail(`output #${index + 1} has no name`);
    if (outputs.has(name)) throw fail(`output '${name}' is declared twice`);
    const source = parseRef(String(output.source ?? ''));
    if (source === undefined || source.kind !== 'step') {
      throw fail(`output '${name}': source must be "<step>:<output>", not "${output.source ?? ''}"`);
    }
    outputs.set(name, source);
  }
  if (outputs.size === 0) throw fail('a chain needs at least one output');

  const definition = { inputs, steps: orderSteps(steps, fail), outputs };
  checkReferences(definition, fail);
  return definition;
}

export type Fail = (what: string) => Error;

function list(value: unknown): PlainMessage[] {
  return (value as PlainMessage[] | undefined) ?? [];
}

function firstDuplicate(names: string[]): string | undefined {
  const seen = new Set<string>();
  return names.find((name) => (seen.has(name) ? true : (seen.add(name), false)));
}

function readStep(step: PlainMessage, index: number, fail: Fail): ChainStepDefinition {
  const name = String(step.name ?? '');
  if (!STEP_NAME.test(name) || name === REQUEST_PREFIX) {
    throw fail(
      `step #${index + 1} is named '${name}'; a step name is lowercase letters, digits, '_' and '-', ` +
        `and not "${REQUEST_PREFIX}"`,
    );
  }
  const runner = step.function !== undefined ? functionRunner(step, name, fail) : modelRunner(step, name, fail);
  const inputs = new Map<string, TensorRef>();
  const label = stepLabel({ ...runner, inputs });
  for (const [alias, origin] of Object.entries((step.inputs as Record<string, string> | undefined) ?? {})) {
    const ref = parseRef(origin);
    if (ref === undefined) {
      throw fail(`${label}: input '${alias}' comes from "${origin}"; expected "request:<input>" or "<step>:<output>"`);
    }
    inputs.set(alias, ref);
  }
  return { ...runner, inputs };
}

function modelRunner(step: PlainMessage, name: string, fail: Fail): Omit<ModelStepDefinition, 'inputs'> {
  const modelName = String(step.model ?? '');
  if (modelName === '') throw fail(`step '${name}' names no model and no function`);
  const functionOnly = FUNCTION_ONLY_FIELDS.find((field) => step[field] !== undefined);
  if (functionOnly !== undefined)
    throw fail(`step '${name}' (model ${modelName}): ${functionOnly} is for function steps`);
  const model: ServableRequest = { name: modelName, ...versionChoice(step, name, fail) };
  return { kind: 'model', name, model, signatureName: String(step.signature_name ?? '') || DEFAULT_SIGNATURE_NAME };
}

function functionRunner(step: PlainMessage, name: string, fail: Fail): Omit<FunctionStepDefinition, 'inputs'> {
  return { kind: 'function', name, function: readFunctionDeclaration(step, name, fail) };
}

function versionChoice(step: PlainMessage, name: string, fail: Fail): { version?: number; label?: string } {
  if (step.version !== undefined) {
    const version = Number(step.version);
    if (!Number.isSafeInteger(version) || version < 0) {
      throw fail(`step '${name}': version ${step.version} is not a version number`);
    }
    return { version };
  }
  if (step.version_label !== undefined) {
    if (step.version_label === '') throw fail(`step '${name}': version_label is empty`);
    return { label: String(step.version_label) };
  }
  return {};
}

/** "request:<input>" or "<step>:<output>"; undefined when it is neither. */
function parseRef(text: string): TensorRef | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) return undefined;
  const head = text.slice(0, colon);
  const tail = text.slice(colon + 1);
  return head === REQUEST_PREFIX ? { kind: 'request', input: tail } : { kind: 'step', step: head, output: tail };
}

/** The steps in dependency order; an unknown step or a cycle is an error naming the step. */
function orderSteps(steps: ChainStepDefinition[], fail: Fail): ChainStepDefinition[] {
  const byName = new Map(steps.map((step) => [step.name, step]));
  for (const step of steps) {
    for (const [alias, ref] of step.inputs) {
      if (ref.kind === 'step' && !byName.has(ref.step)) {
        throw fail(`${stepLabel(step)}: input '${alias}' comes from unknown step '${ref.step}'`);
      }
    }
  }
  const ordered: ChainStepDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (step: ChainStepDefinition, path: string[]): void => {
    if (state.get(step.name) === 'done') return;
    if (state.get(step.name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(step.name)), step.name];
      throw fail(`${stepLabel(step)}: steps ${cycle.map((name) => `'${name}'`).join(' -> ')} form a cycle`);
    }
    state.set(step.name, 'visiting');
    for (const ref of step.inputs.values()) if (ref.kind === 'step') visit(byName.get(ref.step)!, [...path, step.name]);
    state.set(step.name, 'done');
    ordered.push(step);
  };
  for (const step of steps) visit(step, []);
  return ordered;
}

/** Request inputs exist and are used; outputs name known steps; every step feeds an output. */
function checkReferences(definition: ChainDefinition, fail: Fail): void {
  const declared = new Set(definition.inputs);
  const used = new Set<string>();
  for (const step of definition.steps) {
    for (const [alias, ref] of step.inputs) {
      if (ref.kind !== 'request') continue;
      if (!declared.has(ref.input)) {
        throw fail(`${stepLabel(step)}: input '${alias}' comes from undeclared chain input '${ref.input}'`);
      }
      used.add(ref.input);
    }
  }
  const unused = definition.inputs.find((input) => !used.has(input));
  if (unused !== undefined) throw fail(`input '${unused}' feeds no step`);

  const steps = new Map(definition.steps.map((step) => [step.name, step]));
  for (const [name, ref] of definition.outputs) {
    if (!steps.has(ref.step)) throw fail(`output '${name}' comes from unknown step '${ref.step}'`);
  }
  const needed = stepsNeededFor([...definition.outputs.values()], steps);
  const idle = definition.steps.find((step) => !needed.has(step.name));
  if (idle !== undefined) throw fail(`${stepLabel(idle)}: feeds no chain output`);
}

/** The names of the steps that `refs` depend on, directly or not. */
export function stepsNeededFor(
  refs: Iterable<StepOutputRef>,
  steps: ReadonlyMap<string, ChainStepDefinition>,
): Set<string> {
  const needed = new Set<string>();
  const pending = [...refs].map((ref) => ref.step);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (needed.has(name)) continue;
    needed.add(name);
    for (const ref of steps.get(name)!.inputs.values()) if (ref.kind === 'step') pending.push(ref.step);
  }
  return needed;
}
