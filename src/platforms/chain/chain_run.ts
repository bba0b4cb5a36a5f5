/**
 * One request through a chain. Each step holds a ServableHandle on its model for the whole
 * request (taken up front, so a step following "latest" picks up a new version with the next
 * request; released once every run has settled). A step starts as soon as the steps it takes
 * inputs from have finished, so independent steps run at the same time. Every step runs with
 * the 'host' encoding: its outputs are HostTensors that later steps take as inputs as they are
 * (no copy where dtype and layout allow, whichever framework runs either step); only the
 * chain's outputs are encoded, once, in the encoding the caller asked for.
 */
import type { Manager } from '../../core/manager';
import type { ServableHandle } from '../../core/servable_handle';
import { ServingError, toServingError } from '../../errors/serving_error';
import type { HostTensorOutput, NativeOutput, TensorCodec, TensorSource } from '../../native/backend_addon';
import type { InferenceServable, RunRequest } from '../../servables/inference_servable';
import { predict } from '../../servables/predictor';
import { type ChainStepDefinition, type FunctionStepDefinition, stepLabel } from './chain_definition';
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
    const sources = await shareInputs(context.codec, inputs, plan.sharedInputs);
    const runs = new Map<string, Promise<StepOutputs>>();
    const state: { failure?: ServingError } = {};
    for (const step of plan.steps) {
      const producers = producersOf(step);
      const ready = Promise.all(producers.map((name) => runs.get(name)!));
      runs.set(
        step.name,
        ready.then((produced) => {
          if (state.failure) throw state.failure; // another branch failed: start no more work
          const outputsOf = new Map(producers.map((name, i) => [name, produced[i]]));
          const stepInputs = new Map<string, StepInput>();
          for (const [alias, ref] of step.inputs) {
            if (ref.kind === 'request') stepInputs.set(alias, { source: sources.get(ref.input)! });
            else stepInputs.set(alias, { tensor: tensorOf(outputsOf.get(ref.step)!, ref.output) });
          }
          const fetches = plan.fetches.get(step.name)!;
          return runStep(context, step, handles, stepInputs, fetches, state, { timings, deadlineUs, cancelled });
        }),
      );
    }
    // Every run settles before the handles go: a failure elsewhere does not cut one short.
    await Promise.allSettled(runs.values());
    if (state.failure) throw state.failure;

    const results = new Map<string, HostTensorOutput>();
    for (const [alias, ref] of plan.outputs) {
      results.set(alias, await withHandle(context.codec, tensorOf(await runs.get(ref.step)!, ref.output)));
    }
    if (encoding === 'host') return results;
    const encode = async ([alias, output]: [string, HostTensorOutput]) =>
      [alias, await context.codec.encode(output.handle, encoding)] as const;
    const encoded = await Promise.all([...results].map(encode));
    return new Map(encoded);
  } finally {
    for (const handle of handles.values()) handle.release();
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
  state: { failure?: ServingError },
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

function producersOf(step: ChainStepDefinition): string[] {
  return [...new Set([...step.inputs.values()].flatMap((ref) => (ref.kind === 'step' ? [ref.step] : [])))];
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

/** Request inputs, those fed to several step inputs decoded once into a shared HostTensor. */
async function shareInputs(
  codec: TensorCodec,
  inputs: ReadonlyMap<string, TensorSource>,
  shared: ReadonlySet<string>,
): Promise<Map<string, TensorSource>> {
  const sources = new Map(inputs);
  await Promise.all(
    [...shared].map(async (alias) => {
      try {
        sources.set(alias, (await codec.decode(inputs.get(alias)!)).handle);
      } catch (error) {
        const cause = toServingError(error);
        throw new ServingError(cause.code, `input '${alias}': ${cause.message}`);
      }
    }),
  );
  return sources;
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
