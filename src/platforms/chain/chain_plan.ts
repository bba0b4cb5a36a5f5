/**
 * What one request of a chain has to run: the steps its outputs need (all of them, or fewer
 * under an output_filter; with the steps their conditions read and the exits they wait for),
 * which outputs each step must fetch, which exits apply, and which request inputs are decoded
 * once into host tensors (those fed to more than one step input, read by a condition, or
 * answered as a fallback).
 */
import type { ChainCondition } from './chain_condition';
import type { ChainDefinition, ChainStepDefinition, StepOutputRef, TensorRef } from './chain_definition';
import { outputRefs, stepsNeededFor } from './chain_definition';

export interface ChainPlan {
  /** In dependency order. */
  readonly steps: readonly ChainStepDefinition[];
  /** Chain output alias -> where it comes from, in the order answered. */
  readonly outputs: ReadonlyMap<string, StepOutputRef>;
  /** Chain output alias -> what answers when its source's step did not run. */
  readonly fallbacks: ReadonlyMap<string, TensorRef>;
  /** The exits that can stop a planned step, with their number in chain.pbtxt (for messages). */
  readonly exits: ReadonlyArray<{ readonly exit: ChainCondition; readonly index: number }>;
  /** Step name -> the output aliases to fetch from its run. */
  readonly fetches: ReadonlyMap<string, string[]>;
  /** Request inputs decoded once into host tensors, shared by the step inputs they feed. */
  readonly sharedInputs: ReadonlySet<string>;
}

/** The plan for `outputs` (chain output aliases, already checked to exist). */
export function planChain(definition: ChainDefinition, outputs: readonly string[]): ChainPlan {
  const selected = new Map(outputs.map((alias) => [alias, definition.outputs.get(alias)!]));
  const fallbacks = new Map(
    outputs.flatMap((alias) => {
      const fallback = definition.fallbacks.get(alias);
      return fallback ? [[alias, fallback] as const] : [];
    }),
  );
  const byName = new Map(definition.steps.map((step) => [step.name, step]));
  const needed = stepsNeededFor(outputRefs(definition, outputs), byName);
  const steps = definition.steps.filter((step) => needed.has(step.name));
  // An exit on a step no planned step waits for stops nothing here.
  const exits = [...definition.exits.entries()]
    .filter(([, exit]) => exit.source.kind === 'request' || needed.has(exit.source.step))
    .map(([index, exit]) => ({ exit, index }));

  const fetched = new Map<string, Set<string>>(steps.map((step) => [step.name, new Set()]));
  const requestUses = new Map<string, number>();
  /** Request inputs a condition or a fallback reads as host tensors: decoded for it. */
  const readAsHost = new Set<string>();
  const use = (ref: TensorRef, asHost = false) => {
    if (ref.kind === 'step') fetched.get(ref.step)!.add(ref.output);
    else if (asHost) readAsHost.add(ref.input);
    else requestUses.set(ref.input, (requestUses.get(ref.input) ?? 0) + 1);
  };
  for (const step of steps) {
    for (const ref of step.inputs.values()) use(ref);
    if (step.when) use(step.when.source, true);
  }
  for (const { exit } of exits) use(exit.source, true);
  for (const ref of selected.values()) use(ref);
  for (const ref of fallbacks.values()) use(ref, true);
  const shared = [...requestUses].filter(([, uses]) => uses > 1).map(([input]) => input);
  return {
    steps,
    outputs: selected,
    fallbacks,
    exits,
    fetches: new Map([...fetched].map(([step, aliases]) => [step, [...aliases]])),
    sharedInputs: new Set([...shared, ...readAsHost]),
  };
}
