/**
 * One request through a chain. Each step holds a ServableHandle on its model for the whole
 * request (taken up front, so a step following "latest" picks up a new version with the next
 * request; released once every run has settled). A step starts as soon as the steps it takes
 * inputs from have finished, so independent steps run at the same time. Every step runs with
 * the 'host' encoding: its outputs are HostTensors that later steps take as inputs as they are
 * (no copy where dtype and layout allow, whichever framework runs either step); only the
 * chain's outputs are encoded, once, in the encoding the caller asked for.
 *
 * Branches and early exit (chain.proto says what they mean): a step whose `when` does not
 * hold, or that needs a step that did not run, or that waits for an exit that fired, does not
 * run; its result is `undefined`. Conditions read the host tensors on this thread.
 */
import type { Manager } from '../../core/manager';
import type { ServableHandle } from '../../core/servable_handle';
import { ServingError, toServingError } from '../../errors/serving_error';
import type { HostTensorOutput, NativeOutput, TensorCodec, TensorSource } from '../../native/backend_addon';
import { encodeHostOutput } from '../../native/output_encoding';
import type { InferenceServable, RunRequest } from '../../servables/inference_servable';
import { predict } from '../../servables/predictor';
import { type ChainCondition, conditionHolds } from './chain_condition';
import { type ChainStepDefinition, type FunctionStepDefinition, stepLabel, type TensorRef } from './chain_definition';
import { recordChainStep } from './chain_metrics';
import type { ChainPlan } from './chain_plan';
import { type StepPool, type StepTensor, tensorSourceOf } from './step_pool';

export interface ChainRunContext {
  /** Names the chain in metrics. */
  chainName: string;
  manager: Manager;
  codec: TensorCodec;
  /** Runs the function steps; absent when the chain has none. */
  stepPool?: StepPool;
}

type StepOutputs = Map<string, StepTensor>;
/** A step's outputs; undefined when it did not run. */
type StepResult = StepOutputs | undefined;
/** The first failure of the request, and whether an exit has fired. */
interface RunState {
  failure?: ServingError;
  exited: boolean;
}
/** A step's input: a request input as it came, or an earlier step's output as that step made it. */
type StepInput = { source: TensorSource } | { tensor: StepTensor };
type StepHandles = Map<string, ServableHandle<InferenceServable>>;

/** How the caller wants the chain's outputs, and until when it waits (RunRequest's fields). */
export type ChainRunOptions = Pick<RunRequest, 'encoding' | 'timings' | 'deadlineUs' | 'cancelled'>;

export async function runChain(
  context: ChainRunContext,
  plan: ChainPlan,
  inputs: ReadonlyMap<string, TensorSource>,
  { encoding, timings, deadlineUs, cancelled }: ChainRunOptions,
): Promise<Map<string, NativeOutput>> {
  const handles = acquireHandles(context.manager, plan.steps);
  try {
    const { sources, decoded } = await shareInputs(context.codec, inputs, plan.sharedInputs);
    const runs = new Map<string, Promise<StepResult>>();
    const state: RunState = { exited: false };
    /** The tensor `ref` names; undefined when its step did not run. */
    const tensorAt = (ref: TensorRef, results: ReadonlyMap<string, StepResult>): StepTensor | undefined => {
      if (ref.kind === 'request') return decoded.get(ref.input);
      const outputs = results.get(ref.step);
      return outputs && tensorOf(outputs, ref.output);
    };
    const decideExits = (step: string | undefined, results: ReadonlyMap<string, StepResult>) => {
      for (const { exit, index } of plan.exits) {
        const source = exit.source;
        if ((source.kind === 'request' ? undefined : source.step) !== step || state.exited) continue;
        state.exited = evaluate(exit, tensorAt(source, results)!, `exit #${index + 1}: `, state);
      }
    };
    decideExits(undefined, new Map());
    for (const step of plan.steps) {
      const ready = Promise.all(step.after.map((name) => runs.get(name)!));
      runs.set(
        step.name,
        ready.then(async (produced) => {
          if (state.failure) throw state.failure; // another branch failed: start no more work
          const results = new Map(step.after.map((name, i) => [name, produced[i]]));
          if (state.exited || !canRun(step, results)) return undefined;
          if (step.when && !evaluate(step.when, tensorAt(step.when.source, results)!, `${stepLabel(step)}: `, state)) {
            return undefined;
          }
          const stepInputs = new Map<string, StepInput>();
          for (const [alias, ref] of step.inputs) {
            if (ref.kind === 'request') stepInputs.set(alias, { source: sources.get(ref.input)! });
            else stepInputs.set(alias, { tensor: tensorAt(ref, results)! });
          }
          const fetches = plan.fetches.get(step.name)!;
          const options = { timings, deadlineUs, cancelled };
          const outputs = await runStep(context, step, handles, stepInputs, fetches, state, options);
          decideExits(step.name, new Map([[step.name, outputs]]));
          return outputs;
        }),
      );
    }
    // Every run settles before the handles go: a failure elsewhere does not cut one short.
    await Promise.allSettled(runs.values());
    if (state.failure) throw state.failure;

    const ran = new Map<string, StepResult>();
    for (const [name, run] of runs) ran.set(name, await run);
    const results = new Map<string, HostTensorOutput>();
    for (const [alias, ref] of plan.outputs) {
      const fallback = plan.fallbacks.get(alias);
      const tensor = tensorAt(ref, ran) ?? (fallback && tensorAt(fallback, ran));
      if (tensor) results.set(alias, await withHandle(context.codec, tensor));
    }
    if (encoding === 'host') return results;
    const encode = async ([alias, output]: [string, HostTensorOutput]) =>
      [alias, await encodeHostOutput(context.codec, output, encoding)] as const;
    const encoded = await Promise.all([...results].map(encode));
    return new Map(encoded);
  } finally {
    for (const handle of handles.values()) handle.release();
  }
}

/** False when a step `step` takes an input from, or whose output its `when` reads, did not run. */
function canRun(step: ChainStepDefinition, results: ReadonlyMap<string, StepResult>): boolean {
  const refs = [...step.inputs.values(), ...(step.when ? [step.when.source] : [])];
  return refs.every((ref) => ref.kind === 'request' || results.get(ref.step) !== undefined);
}

/** Whether `condition` holds for `tensor`; a tensor it cannot read fails the request. */
function evaluate(condition: ChainCondition, tensor: StepTensor, where: string, state: RunState): boolean {
  try {
    return conditionHolds(condition, tensor, where);
  } catch (error) {
    state.failure ??= toServingError(error);
    throw state.failure;
  }
}

/**
 * Runs one step (a model with 'host' outputs, or a function); records its time, and the first
 * failure of the request. `inputs`: request inputs as they came, earlier steps' outputs as
 * they made them.
 */
async function runStep(
  context: ChainRunContext,
  step: ChainStepDefinition,
  handles: StepHandles,
  inputs: Map<string, StepInput>,
  outputFilter: string[],
  state: RunState,
  { timings, deadlineUs, cancelled }: Omit<ChainRunOptions, 'encoding'>,
): Promise<StepOutputs> {
  const started = process.hrtime.bigint();
  let ok = false;
  try {
    let outputs: StepOutputs;
    if (step.kind === 'function') {
      outputs = await callFunction(context, step, inputs, { deadlineUs, cancelled });
    } else {
      const servable = handles.get(step.name)!.servable;
      const { signatureName } = step;
      const sources = new Map([...inputs].map(([alias, input]) => [alias, asSource(input)]));
      const request = {
        signatureName,
        inputs: sources,
        outputFilter,
        encoding: 'host',
        deadlineUs,
        cancelled,
      } as const;
      outputs = hostOutputs(await predict(servable, request));
    }
    ok = true;
    return outputs;
  } catch (error) {
    state.failure ??= stepError(step, error);
    throw state.failure;
  } finally {
    const microseconds = Number(process.hrtime.bigint() - started) / 1000;
    recordChainStep(context.chainName, step.name, microseconds, ok);
    if (ok) timings?.set(step.name, Math.round(microseconds));
  }
}

/** A function step's call: request inputs decoded first (a handle's tensor is not copied). */
async function callFunction(
  context: ChainRunContext,
  step: FunctionStepDefinition,
  inputs: Map<string, StepInput>,
  options: Pick<ChainRunOptions, 'deadlineUs' | 'cancelled'>,
): Promise<StepOutputs> {
  const entries = [...inputs].map(
    async ([alias, input]) =>
      [alias, 'tensor' in input ? input.tensor : await decodeInput(context.codec, alias, input.source)] as const,
  );
  return context.stepPool!.call(step, new Map(await Promise.all(entries)), options);
}

async function decodeInput(codec: TensorCodec, alias: string, source: TensorSource): Promise<HostTensorOutput> {
  try {
    return await codec.decode(source);
  } catch (error) {
    const cause = toServingError(error);
    throw new ServingError(cause.code, `input '${alias}': ${cause.message}`);
  }
}

function asSource(input: StepInput): TensorSource {
  return 'tensor' in input ? tensorSourceOf(input.tensor) : input.source;
}

/** A step tensor with a native handle (a function's output is copied into one once). */
async function withHandle(codec: TensorCodec, tensor: StepTensor): Promise<HostTensorOutput> {
  if (tensor.handle !== undefined) return tensor as HostTensorOutput;
  return codec.decode(tensorSourceOf(tensor));
}

/** A handle per model step, all taken before anything runs; none kept when one is missing. */
function acquireHandles(manager: Manager, steps: readonly ChainStepDefinition[]): StepHandles {
  const handles: StepHandles = new Map();
  const modelSteps = steps.filter((step) => step.kind === 'model');
  try {
    for (const step of modelSteps) handles.set(step.name, manager.getServableHandle<InferenceServable>(step.model));
  } catch (error) {
    for (const handle of handles.values()) handle.release();
    throw stepError(modelSteps[handles.size], error);
  }
  return handles;
}

/** Request inputs, those of `shared` decoded once into a HostTensor (also answered in `decoded`). */
async function shareInputs(
  codec: TensorCodec,
  inputs: ReadonlyMap<string, TensorSource>,
  shared: ReadonlySet<string>,
): Promise<{ sources: Map<string, TensorSource>; decoded: Map<string, HostTensorOutput> }> {
  const sources = new Map(inputs);
  const decoded = new Map<string, HostTensorOutput>();
  await Promise.all(
    [...shared].map(async (alias) => {
      const tensor = await decodeInput(codec, alias, inputs.get(alias)!);
      decoded.set(alias, tensor);
      sources.set(alias, tensor.handle);
    }),
  );
  return { sources, decoded };
}

function tensorOf(outputs: StepOutputs, alias: string): StepTensor {
  const output = outputs.get(alias);
  if (output === undefined) throw new ServingError('INTERNAL', `a chain step answered no tensor for output '${alias}'`);
  return output;
}

function hostOutputs(outputs: Map<string, NativeOutput>): StepOutputs {
  for (const [alias, output] of outputs) {
    if (output instanceof Uint8Array) {
      throw new ServingError('INTERNAL', `a chain step answered no host tensor for output '${alias}'`);
    }
  }
  return outputs as StepOutputs;
}

/** The step's own error, named: "step 'rank' (model ranker): ...", with its code. */
function stepError(step: ChainStepDefinition, error: unknown): ServingError {
  const cause = toServingError(error);
  const wrapped = new ServingError(cause.code, `${stepLabel(step)}: ${cause.message}`);
  wrapped.stack = cause.stack;
  return wrapped;
}
