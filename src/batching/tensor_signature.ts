/**
 * TF-Serving's TensorSignature (batching_session.h): the sorted input tensor names and sorted
 * output tensor names of a run. Batch queues are keyed by it, so requests to two signatures
 * over the same tensors share one queue.
 */
import type { CheckedRun } from '../servables/inference_servable';
import type { Signature } from '../servables/signature';

const sortedNames = (names: Iterable<string>) => [...names].sort();

/** The key of a signature's queue (TensorSignatureFromSignatureDef). */
export function signatureKey(signature: Signature): string {
  return key(
    [...signature.inputs.values()].map((spec) => spec.name),
    [...signature.outputs.values()].map((spec) => spec.name),
  );
}

/** The key of a run's own tensors (TensorSignatureFromRunArgs): an output_filter narrows it. */
export function runKey(run: CheckedRun): string {
  const outputs = run.signature.outputs;
  return key(
    run.checkedInputs.map((input) => input.spec.name),
    run.outputAliases.map((alias) => outputs.get(alias)!.name),
  );
}

/** TF's TensorSignatureDebugString. */
export function describeTensorSignature(signature: Signature): string {
  const inputs = sortedNames([...signature.inputs.values()].map((spec) => spec.name));
  const outputs = sortedNames([...signature.outputs.values()].map((spec) => spec.name));
  return `{input_tensors: <${inputs.join(', ')}>, output_tensors: <${outputs.join(', ')}>}`;
}

function key(inputs: string[], outputs: string[]): string {
  return JSON.stringify([sortedNames(inputs), sortedNames(outputs)]);
}
