/**
 * What one request of a chain has to run: the steps its outputs need (all of them, or fewer
 * under an output_filter), which outputs each step must fetch, and which request inputs feed
 * more than one step input (those are decoded once and shared).
 */
import type { ChainDefinition, ChainStepDefinition, StepOutputRef } from './chain_definition';
import { stepsNeededFor } from './chain_definition';

export interface ChainPlan {
  /** In dependency order. */
  readonly steps: readonly ChainStepDefinition[];
  /** Chain output alias -> where it comes from, in the order answered. */
  readonly outputs: ReadonlyMap<string, StepOutputRef>;
  /** Step name -> the output aliases to fetch from its run. */
  readonly fetches: ReadonlyMap<string, string[]>;
  /** Request inputs fed to more than one step input. */
  readonly sharedInputs: ReadonlySet<string>;
}

/** The plan for `outputs` (chain output aliases, already checked to exist). */
export function planChain(definition: ChainDefinition, outputs: readonly string[]): ChainPlan {
  const selected = new Map(outputs.map((alias) => [alias, definition.outputs.get(alias)!]));
  const byName = new Map(definition.steps.map((step) => [step.name, step]));
  const needed = stepsNeededFor(selected.values(), byName);
  const steps = definition.steps.filter((step) => needed.has(step.name));

  const fetched = new Map<string, Set<string>>(steps.map((step) => [step.name, new Set()]));
  const requestUses = new Map<string, number>();
  for (const step of steps) {
    for (const ref of step.inputs.values()) {
      if (ref.kind === 'step') fetched.get(ref.step)!.add(ref.output);
      else requestUses.set(ref.input, (requestUses.get(ref.input) ?? 0) + 1);
    }
  }
  for (const ref of selected.values()) fetched.get(ref.step)!.add(ref.output);
  return {
    steps,
    outputs: selected,
    fetches: new Map([...fetched].map(([step, aliases]) => [step, [...aliases]])),
    sharedInputs: new Set([...requestUses].filter(([, uses]) => uses > 1).map(([input]) => input)),
  };
}
