/**
 * chain.pbtxt (a duoserve.chain.ChainDefinition in protobuf text format, see
 * proto/duoserve/chain.proto) read and checked for what needs no model: names, references
 * between steps, cycles, unused inputs and steps, conditions (`when`, `exit`) and fallbacks.
 * What needs the step models' signatures is checked in chain_signature.ts. Every error is an INVALID_ARGUMENT ServingError whose message
 * starts with the file name (and line:column for text-format errors, which never quote the
 * file: its load error reaches clients, and the file may be anything).
 */
import { parseTextFormatToObject, type PlainMessage } from '../../config/text_format';
import type { ServableRequest } from '../../core/servable_request';
import { invalidArgument, toServingError } from '../../errors/serving_error';
import { Protos } from '../../protos';
import { DEFAULT_SIGNATURE_NAME } from '../../servables/signature';
import { type ChainCondition, readCondition } from './chain_condition';
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
  /** The step runs only when this holds. */
  readonly when?: ChainCondition;
  /**
   * Every step it starts after: those it takes inputs from, the step its `when` reads, and
   * the steps of the exits it waits for (see ChainDefinition.exits in chain.proto).
   */
  readonly after: readonly string[];
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
  /** Chain output alias -> what answers when its source's step did not run. */
  readonly fallbacks: ReadonlyMap<string, TensorRef>;
  /** Early exits, as declared. */
  readonly exits: readonly ChainCondition[];
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
  const fallbacks = new Map<string, TensorRef>();
  for (const [index, output] of list(message.output).entries()) {
    const name = String(output.name ?? '');
    if (name === '') throw fail(`output #${index + 1} has no name`);
    if (outputs.has(name)) throw fail(`output '${name}' is declared twice`);
    const source = parseRef(String(output.source ?? ''));
    if (source === undefined || source.kind !== 'step') {
      throw fail(`output '${name}': source must be "<step>:<output>", not "${output.source ?? ''}"`);
    }
    outputs.set(name, source);
    if (output.fallback !== undefined && output.fallback !== '') {
      const fallback = parseRef(String(output.fallback));
      if (fallback === undefined) {
        throw fail(
          `output '${name}': fallback must be "request:<input>" or "<step>:<output>", not "${output.fallback}"`,
        );
      }
      fallbacks.set(name, fallback);
    }
  }
  if (outputs.size === 0) throw fail('a chain needs at least one output');
  const exits = list(message.exit).map((exit, index) => {
    const where = `exit #${index + 1}`;
    if (exit.when === undefined) throw fail(`${where} has no 'when'`);
    return condition(exit.when as PlainMessage, `${where}: `, fail);
  });

  // Steps first in the order their inputs and conditions ask, then again once the exits
  // have added their waits.
  const ordered = orderSteps(steps, fail);
  const ancestry = ancestorsOf(ordered);
  const exitSteps = orderExits(exits, ancestry, fail);
  const gated = ordered.map((step) => ({
    ...step,
    after: [...new Set([...step.after, ...exitWaits(step, exitSteps, ancestry)])],
  }));
  const definition = { inputs, steps: orderSteps(gated, fail), outputs, fallbacks, exits };
  checkReferences(definition, ancestry, fail);
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
  const label = stepLabel({ ...runner, inputs, after: [] });
  for (const [alias, origin] of Object.entries((step.inputs as Record<string, string> | undefined) ?? {})) {
    const ref = parseRef(origin);
    if (ref === undefined) {
      throw fail(`${label}: input '${alias}' comes from "${origin}"; expected "request:<input>" or "<step>:<output>"`);
    }
    inputs.set(alias, ref);
  }
  const when = step.when === undefined ? undefined : condition(step.when as PlainMessage, `${label}: `, fail);
  const refs = [...inputs.values(), ...(when ? [when.source] : [])];
  const after = [...new Set(refs.flatMap((ref) => (ref.kind === 'step' ? [ref.step] : [])))];
  return { ...runner, inputs, ...(when ? { when } : {}), after };
}

function modelRunner(
  step: PlainMessage,
  name: string,
  fail: Fail,
): Omit<ModelStepDefinition, keyof StepInputs | 'name'> & { name: string } {
  const modelName = String(step.model ?? '');
  if (modelName === '') throw fail(`step '${name}' names no model and no function`);
  const functionOnly = FUNCTION_ONLY_FIELDS.find((field) => step[field] !== undefined);
  if (functionOnly !== undefined)
    throw fail(`step '${name}' (model ${modelName}): ${functionOnly} is for function steps`);
  const model: ServableRequest = { name: modelName, ...versionChoice(step, name, fail) };
  return { kind: 'model', name, model, signatureName: String(step.signature_name ?? '') || DEFAULT_SIGNATURE_NAME };
}

function functionRunner(
  step: PlainMessage,
  name: string,
  fail: Fail,
): Omit<FunctionStepDefinition, keyof StepInputs | 'name'> & { name: string } {
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

/** A `when` message: its source first, then the rest (chain_condition.ts). */
function condition(message: PlainMessage, where: string, fail: Fail): ChainCondition {
  const text = String(message.source ?? '');
  const source = parseRef(text);
  if (source === undefined) {
    throw fail(`${where}'when' reads "${text}"; expected "request:<input>" or "<step>:<output>"`);
  }
  return readCondition(message, source, where, fail);
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
    const source = step.when?.source;
    if (source?.kind === 'step' && !byName.has(source.step)) {
      throw fail(`${stepLabel(step)}: 'when' reads unknown step '${source.step}'`);
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
    for (const name of step.after) visit(byName.get(name)!, [...path, step.name]);
    state.set(step.name, 'done');
    ordered.push(step);
  };
  for (const step of steps) visit(step, []);
  return ordered;
}

/**
 * Step name -> the steps it depends on through inputs and `when`, directly or not: those
 * whose not running keeps it from running. `steps` are in dependency order.
 */
type Ancestry = ReadonlyMap<string, ReadonlySet<string>>;

function ancestorsOf(steps: readonly ChainStepDefinition[]): Ancestry {
  const ancestry = new Map<string, Set<string>>();
  for (const step of steps) {
    ancestry.set(step.name, new Set(step.after.flatMap((name) => [name, ...ancestry.get(name)!])));
  }
  return ancestry;
}

interface PlacedExit {
  readonly exit: ChainCondition;
  /** The step whose output it reads; undefined for a request input (decided first). */
  readonly step?: string;
}

/**
 * The exits in the order they are decided along the one path they must lie on: of any two,
 * one reads the step of the other or a step after it (or a request input).
 */
function orderExits(exits: readonly ChainCondition[], ancestry: Ancestry, fail: Fail): PlacedExit[] {
  const placed = exits.map((exit, index) => {
    const { source } = exit;
    if (source.kind !== 'step') return { exit, index };
    if (!ancestry.has(source.step)) throw fail(`exit #${index + 1}: 'when' reads unknown step '${source.step}'`);
    return { exit, index, step: source.step };
  });
  const depth = (exit: { step?: string }) => (exit.step === undefined ? -1 : ancestry.get(exit.step)!.size);
  placed.sort((a, b) => depth(a) - depth(b) || a.index - b.index);
  for (let i = 1; i < placed.length; i++) {
    const [before, exit] = [placed[i - 1], placed[i]];
    if (before.step === undefined || before.step === exit.step || ancestry.get(exit.step!)!.has(before.step)) continue;
    throw fail(
      `exits #${before.index + 1} and #${exit.index + 1} read steps '${before.step}' and '${exit.step}', ` +
        'neither of which depends on the other; exits must lie on one path',
    );
  }
  const last = placed.at(-1);
  if (last?.step !== undefined && ancestry.get(last.step)!.size + 1 === ancestry.size) {
    throw fail(
      `exit #${last.index + 1}: every step runs before it is decided ('${refString(last.exit.source)}'), ` +
        'so it ends nothing early',
    );
  }
  return placed.map(({ exit, step }) => ({ exit, ...(step === undefined ? {} : { step }) }));
}

/** The exit steps `step` waits for: those of the exits it is not needed to decide. */
function exitWaits(step: ChainStepDefinition, exits: readonly PlacedExit[], ancestry: Ancestry): string[] {
  return exits.flatMap((exit) =>
    exit.step === undefined || exit.step === step.name || ancestry.get(exit.step)!.has(step.name) ? [] : [exit.step],
  );
}

/**
 * Request inputs exist and feed steps; conditions, outputs and fallbacks name known tensors;
 * a fallback can run when its source did not; every step feeds an output.
 */
function checkReferences(definition: ChainDefinition, ancestry: Ancestry, fail: Fail): void {
  const declared = new Set(definition.inputs);
  const used = new Set<string>();
  const undeclared = (ref: TensorRef) => ref.kind === 'request' && !declared.has(ref.input);
  for (const step of definition.steps) {
    for (const [alias, ref] of step.inputs) {
      if (ref.kind !== 'request') continue;
      if (undeclared(ref)) {
        throw fail(`${stepLabel(step)}: input '${alias}' comes from undeclared chain input '${ref.input}'`);
      }
      used.add(ref.input);
    }
    if (step.when && undeclared(step.when.source)) {
      throw fail(`${stepLabel(step)}: 'when' reads undeclared chain input '${refString(step.when.source)}'`);
    }
  }
  const unused = definition.inputs.find((input) => !used.has(input));
  if (unused !== undefined) throw fail(`input '${unused}' feeds no step`);
  for (const [index, exit] of definition.exits.entries()) {
    if (undeclared(exit.source))
      throw fail(`exit #${index + 1}: 'when' reads undeclared chain input '${refString(exit.source)}'`);
  }

  const steps = new Map(definition.steps.map((step) => [step.name, step]));
  for (const [name, ref] of definition.outputs) {
    if (!steps.has(ref.step)) throw fail(`output '${name}' comes from unknown step '${ref.step}'`);
    const fallback = definition.fallbacks.get(name);
    if (fallback === undefined) continue;
    if (undeclared(fallback))
      throw fail(`output '${name}': fallback reads undeclared chain input '${refString(fallback)}'`);
    if (fallback.kind !== 'step') continue;
    if (!steps.has(fallback.step)) throw fail(`output '${name}': fallback comes from unknown step '${fallback.step}'`);
    if (fallback.step === ref.step || ancestry.get(fallback.step)!.has(ref.step)) {
      const why =
        fallback.step === ref.step
          ? `both come from step '${ref.step}'`
          : `step '${fallback.step}' depends on step '${ref.step}'`;
      throw fail(
        `output '${name}': fallback '${refString(fallback)}' never runs when source '${refString(ref)}' does not (${why})`,
      );
    }
  }
  const needed = stepsNeededFor(outputRefs(definition, [...definition.outputs.keys()]), steps);
  const idle = definition.steps.find((step) => !needed.has(step.name));
  if (idle !== undefined) throw fail(`${stepLabel(idle)}: feeds no chain output`);
}

/** The tensors chain outputs `aliases` may answer with: their sources and their fallbacks. */
export function outputRefs(definition: ChainDefinition, aliases: readonly string[]): TensorRef[] {
  return aliases.flatMap((alias) => {
    const fallback = definition.fallbacks.get(alias);
    return [definition.outputs.get(alias)!, ...(fallback ? [fallback] : [])];
  });
}

/** The names of the steps that `refs` need to run first (ChainStepDefinition.after), directly or not. */
export function stepsNeededFor(
  refs: Iterable<TensorRef>,
  steps: ReadonlyMap<string, ChainStepDefinition>,
): Set<string> {
  const needed = new Set<string>();
  const pending = [...refs].flatMap((ref) => (ref.kind === 'step' ? [ref.step] : []));
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (needed.has(name)) continue;
    needed.add(name);
    pending.push(...steps.get(name)!.after);
  }
  return needed;
}
