/**
 * A chain definition checked against the signatures of its steps' models, and the signature
 * the chain itself serves: each chain input has the dtype and shape of the step inputs it
 * feeds, each chain output those of the step output it comes from (and of its fallback). The
 * conditions are checked against the tensors they read. Errors are INVALID_ARGUMENT,
 * "<file>: step '<step>' (model <model>): ...".
 */
import { invalidArgument } from '../../errors/serving_error';
import { DEFAULT_SIGNATURE_NAME, PREDICT_METHOD_NAME } from '../../servables/signature';
import type { Signature, TensorSpec } from '../../servables/signature';
import { dataTypeName, DataType } from '../../tensors/data_type';
import { type ChainCondition, conditionMismatch } from './chain_condition';
import type { ChainDefinition, ChainStepDefinition, StepOutputRef, TensorRef } from './chain_definition';
import { refString, stepLabel } from './chain_definition';

/** The signature each step runs, by step name. */
export type StepSignatures = ReadonlyMap<string, Signature>;

/** The one signature a chain serves. */
export const CHAIN_SIGNATURE_NAME = DEFAULT_SIGNATURE_NAME;

export function chainSignature(definition: ChainDefinition, steps: StepSignatures, fileName: string): Signature {
  const fail = (what: string) => invalidArgument(`${fileName}: ${what}`);
  const byName = new Map(definition.steps.map((step) => [step.name, step]));
  const producedSpec = (ref: StepOutputRef): TensorSpec | undefined => steps.get(ref.step)!.outputs.get(ref.output);
  /** Chain input -> its spec so far, and the step input that set it (for messages). */
  const requestSpecs = new Map<string, { spec: TensorSpec; by: string }>();

  for (const step of definition.steps) {
    const signature = steps.get(step.name)!;
    const label = stepLabel(step);
    const signatureLabel = runsLabel(step);
    for (const alias of signature.inputs.keys()) {
      if (!step.inputs.has(alias)) throw fail(`${label}: input '${alias}' of ${signatureLabel} is not mapped`);
    }
    for (const [alias, ref] of step.inputs) {
      const wanted = signature.inputs.get(alias);
      if (!wanted) {
        throw fail(`${label}: ${signatureLabel} has no input '${alias}' (it has: ${names(signature.inputs)})`);
      }
      const where = `input '${alias}'`;
      if (ref.kind === 'step') {
        const producer = byName.get(ref.step)!;
        const given = producedSpec(ref);
        if (!given) throw fail(`${label}: ${where} comes from ${unknownOutput(ref, producer, steps)}`);
        const conflict = mismatch(wanted, given);
        if (conflict) {
          throw fail(
            `${label}: ${where} is ${describe(wanted)} but '${refString(ref)}' is ${describe(given)}${conflict}`,
          );
        }
        continue;
      }
      const earlier = requestSpecs.get(ref.input);
      if (!earlier) {
        requestSpecs.set(ref.input, { spec: wanted, by: `step '${step.name}' input '${alias}'` });
        continue;
      }
      const conflict = mismatch(wanted, earlier.spec);
      if (conflict) {
        throw fail(
          `${label}: ${where} is ${describe(wanted)} but '${refString(ref)}' also feeds ${earlier.by}, ` +
            `which is ${describe(earlier.spec)}${conflict}`,
        );
      }
      earlier.spec = merge(wanted, earlier.spec);
    }
  }

  /** The spec of a tensor a condition or fallback reads; `where` starts the error when there is none. */
  const specOf = (ref: TensorRef, where: string): TensorSpec => {
    if (ref.kind === 'request') return requestSpecs.get(ref.input)!.spec;
    const spec = producedSpec(ref);
    if (!spec) throw fail(`${where}reads ${unknownOutput(ref, byName.get(ref.step)!, steps)}`);
    return spec;
  };
  const checkCondition = (condition: ChainCondition, where: string) => {
    const problem = conditionMismatch(condition, specOf(condition.source, `${where}'when' `));
    if (problem !== undefined) throw fail(`${where}${problem}`);
  };
  for (const step of definition.steps) if (step.when) checkCondition(step.when, `${stepLabel(step)}: `);
  for (const [index, exit] of definition.exits.entries()) checkCondition(exit, `exit #${index + 1}: `);

  const outputs = new Map<string, TensorSpec>();
  for (const [name, ref] of definition.outputs) {
    const spec = producedSpec(ref);
    if (!spec) throw fail(`output '${name}' comes from ${unknownOutput(ref, byName.get(ref.step)!, steps)}`);
    const fallback = definition.fallbacks.get(name);
    if (fallback) {
      const given = specOf(fallback, `output '${name}': fallback `);
      const conflict = mismatch(spec, given);
      if (conflict) {
        throw fail(
          `output '${name}': fallback '${refString(fallback)}' is ${describe(given)} but source ` +
            `'${refString(ref)}' is ${describe(spec)}${conflict}`,
        );
      }
    }
    outputs.set(name, { name: refString(ref), dtype: spec.dtype, shape: spec.shape });
  }
  const inputs = new Map<string, TensorSpec>(
    definition.inputs.map((input) => {
      const { spec } = requestSpecs.get(input)!;
      return [input, { name: input, dtype: spec.dtype, shape: spec.shape }];
    }),
  );
  return { methodName: PREDICT_METHOD_NAME, inputs, outputs };
}

/** What a step's inputs and outputs are declared by: "signature 'serving_default'", "its declaration". */
function runsLabel(step: ChainStepDefinition): string {
  return step.kind === 'model' ? `signature '${step.signatureName}'` : 'its declaration';
}

function names(specs: ReadonlyMap<string, unknown>): string {
  return [...specs.keys()].sort().join(', ') || 'none';
}

function unknownOutput(ref: StepOutputRef, producer: ChainStepDefinition, steps: StepSignatures): string {
  const outputs = steps.get(ref.step)!.outputs;
  return (
    `'${refString(ref)}', but ${stepLabel(producer)} ${runsLabel(producer)} has no output ` +
    `'${ref.output}' (it has: ${names(outputs)})`
  );
}

function describe(spec: TensorSpec): string {
  const dtype = spec.dtype === DataType.DT_INVALID ? 'of any dtype' : dataTypeName(spec.dtype);
  return `${dtype} ${spec.shape === null ? '[unknown rank]' : `[${spec.shape.join(',')}]`}`;
}

/** Why `a` and `b` cannot be the same tensor (", dtypes differ" ...), or '' when they can. */
function mismatch(a: TensorSpec, b: TensorSpec): string {
  if (a.dtype !== DataType.DT_INVALID && b.dtype !== DataType.DT_INVALID && a.dtype !== b.dtype) {
    return ': dtypes differ';
  }
  if (a.shape === null || b.shape === null) return '';
  if (a.shape.length !== b.shape.length) return ': ranks differ';
  const dim = a.shape.findIndex((size, i) => size >= 0 && b.shape![i] >= 0 && size !== b.shape![i]);
  return dim >= 0 ? `: dim ${dim} differs` : '';
}

/** What both compatible specs say: the known dtype, the known dims. */
function merge(a: TensorSpec, b: TensorSpec): TensorSpec {
  const dtype = a.dtype !== DataType.DT_INVALID ? a.dtype : b.dtype;
  if (a.shape === null || b.shape === null) return { name: a.name, dtype, shape: a.shape ?? b.shape };
  return { name: a.name, dtype, shape: a.shape.map((size, i) => (size >= 0 ? size : b.shape![i])) };
}
