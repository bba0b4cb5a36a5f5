/**
 * MultiInference over any InferenceServable, with TF-Serving's checks and messages
 * (multi_inference.cc): several classify/regress tasks on one model over one Input; every
 * task is checked before anything runs and the results come back in task order. As in current
 * TF-Serving, tasks may read different input tensors: the one examples tensor feeds each.
 *
 * TF-Serving fetches every task's outputs in one Session::Run; here each task runs its own
 * signature (concurrently) over the same examples tensor, since InferenceServable runs one
 * signature at a time. The results are the same; a model is evaluated once per task.
 */
import { recordRequestExampleCount } from '../monitoring/request_metrics';
import { invalidArgument, unimplemented } from '../errors/serving_error';
import {
  CLASSIFY_INPUTS,
  classificationOutputs,
  classificationResult,
  ClassificationResultMessage,
} from './classifier';
import { ExampleInferenceOptions, runOnExamples, signatureNameOf } from './example_inference';
import type { InferenceServable, RunRequest } from './inference_servable';
import { regressionOutputs, regressionResult, RegressionResultMessage, REGRESS_INPUTS } from './regressor';
import { SerializedInput, serializedExamplesTensor } from './serialized_input';
import { CLASSIFY_METHOD_NAME, REGRESS_METHOD_NAME, type Signature } from './signature';

/** tensorflow.serving.InferenceTask as protobufjs decodes it. */
export interface InferenceTaskMessage {
  model_spec?: { name?: string; signature_name?: string } | null;
  method_name?: string;
}

/** tensorflow.serving.InferenceResult as protobufjs encodes it. */
export interface InferenceResultMessage {
  model_spec: { name: string; version: { value: number }; signature_name: string };
  classification_result?: ClassificationResultMessage;
  regression_result?: RegressionResultMessage;
}

interface PlannedTask {
  signatureName: string;
  signature: Signature;
  method: typeof CLASSIFY_METHOD_NAME | typeof REGRESS_METHOD_NAME;
  outputAliases: string[];
}

/**
 * Runs `tasks` on `servable`, version `version` of the model they all name. `waiting`: the call's
 * deadline and cancel flag, so a task run still queued once the caller stopped waiting never starts.
 */
export async function multiInference(
  servable: InferenceServable,
  version: number,
  tasks: InferenceTaskMessage[],
  input: SerializedInput | null | undefined,
  options: ExampleInferenceOptions = {},
  waiting: Pick<RunRequest, 'deadlineUs' | 'cancelled'> = {},
): Promise<InferenceResultMessage[]> {
  const modelName = tasks[0]?.model_spec?.name ?? '';
  const planned = planTasks(servable, tasks, options);
  const examples = serializedExamplesTensor(input);
  const runs = planned.map((task) => {
    const inputAlias = task.method === CLASSIFY_METHOD_NAME ? CLASSIFY_INPUTS : REGRESS_INPUTS;
    return runOnExamples(
      servable,
      [task.signatureName, task.signature],
      inputAlias,
      examples,
      task.outputAliases,
      waiting,
    );
  });
  // Every run settles before the first failure (in task order) is reported.
  const settled = await Promise.allSettled(runs);
  // TF-Serving counts the examples of a run that succeeded.
  if (settled.every((run) => run.status === 'fulfilled')) recordRequestExampleCount(modelName, examples.shape[0]);
  return planned.map((task, index) => {
    const run = settled[index];
    if (run.status === 'rejected') throw run.reason;
    const model_spec = { name: modelName, version: { value: version }, signature_name: task.signatureName };
    return task.method === CLASSIFY_METHOD_NAME
      ? { model_spec, classification_result: classificationResult(examples.shape[0], run.value) }
      : { model_spec, regression_result: regressionResult(examples.shape[0], run.value) };
  });
}

/** Checks every task, in order, as TF-Serving does before it runs anything. */
function planTasks(
  servable: InferenceServable,
  tasks: InferenceTaskMessage[],
  options: ExampleInferenceOptions,
): PlannedTask[] {
  let modelName = '';
  const seen = new Set<string>();
  return tasks.map((task) => {
    const name = task.model_spec?.name ?? '';
    if (!name) throw invalidArgument('Found ModelSpec with an empty model name.');
    if (!modelName) modelName = name;
    else if (name !== modelName) {
      throw invalidArgument('All ModelSpecs in a MultiInferenceRequest must access the same model name.');
    }
    const signatureName = signatureNameOf(task.model_spec?.signature_name);
    if (seen.has(signatureName)) throw invalidArgument(`Duplicate evaluation of signature: ${signatureName}`);
    seen.add(signatureName);
    const signature = servable.signatures.get(signatureName);
    if (!signature) throw invalidArgument(`Requested signature not found in model graph: ${signatureName}`);
    let planned: PlannedTask;
    if (task.method_name === CLASSIFY_METHOD_NAME) {
      const outputAliases = classificationOutputs(signature, options);
      planned = { signatureName, signature, method: CLASSIFY_METHOD_NAME, outputAliases };
    } else if (task.method_name === REGRESS_METHOD_NAME) {
      planned = {
        signatureName,
        signature,
        method: REGRESS_METHOD_NAME,
        outputAliases: regressionOutputs(signature, options),
      };
    } else {
      throw unimplemented(`Unsupported signature method_name: ${task.method_name ?? ''}`);
    }
    return planned;
  });
}
