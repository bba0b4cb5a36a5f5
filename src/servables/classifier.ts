/**
 * Classify over any InferenceServable, with TF-Serving's checks and messages (classifier.cc):
 * a signature with one input "inputs" (the serialized Examples) and outputs "classes"
 * (DT_STRING [batch, n]) and/or "scores" (DT_FLOAT [batch, n]); the result lists, per
 * example, its n classes with label and score.
 */
import { invalidArgument } from '../errors/serving_error';
import type { HostTensorOutput } from '../native/backend_addon';
import { DataType, dataTypeName } from '../tensors/data_type';
import {
  ExampleInferenceOptions,
  ExamplesRequest,
  runOnExamples,
  signatureNamed,
  shapeDebugString,
  signatureNameOf,
} from './example_inference';
import type { InferenceServable } from './inference_servable';
import { serializedExamplesTensor } from './serialized_input';
import { CLASSIFY_METHOD_NAME, Signature } from './signature';
import { signatureDebugString } from './signature_debug_string';

export const CLASSIFY_INPUTS = 'inputs';
export const CLASSIFY_OUTPUT_CLASSES = 'classes';
export const CLASSIFY_OUTPUT_SCORES = 'scores';

/** tensorflow.serving.ClassificationResult as protobufjs encodes it; absent fields were not produced. */
export interface ClassificationResultMessage {
  classifications: Array<{ classes: Array<{ label?: string; score?: number }> }>;
}

export async function classify(
  servable: InferenceServable,
  request: ExamplesRequest,
  options: ExampleInferenceOptions = {},
): Promise<ClassificationResultMessage> {
  const signatureName = signatureNameOf(request.signatureName);
  const signature = signatureNamed(servable.signatures, signatureName);
  const outputAliases = classificationOutputs(signature, options);
  const examples = serializedExamplesTensor(request.input);
  const outputs = await runOnExamples(
    servable,
    [signatureName, signature],
    CLASSIFY_INPUTS,
    examples,
    outputAliases,
    request,
  );
  return classificationResult(examples.shape[0], outputs);
}

/** Checks the signature's inputs and outputs; the output aliases to fetch (PreProcessClassification). */
export function classificationOutputs(signature: Signature, options: ExampleInferenceOptions): string[] {
  if (options.enableSignatureMethodNameCheck) checkMethodName(signature);
  if (signature.inputs.size !== 1) throw invalidArgument('Expected one input Tensor.');
  if (signature.outputs.size !== 1 && signature.outputs.size !== 2) {
    throw invalidArgument(`Expected one or two output Tensors, found ${signature.outputs.size}`);
  }
  if (!signature.inputs.has(CLASSIFY_INPUTS)) {
    throw invalidArgument(`No classification inputs found in SignatureDef: ${signatureDebugString(signature)}`);
  }
  const aliases = [CLASSIFY_OUTPUT_CLASSES, CLASSIFY_OUTPUT_SCORES].filter((alias) => signature.outputs.has(alias));
  if (aliases.length === 0) {
    throw invalidArgument(
      'Expected classification signature outputs to contain at least one of ' +
        `"${CLASSIFY_OUTPUT_CLASSES}" or "${CLASSIFY_OUTPUT_SCORES}". Signature was: ${signatureDebugString(signature)}`,
    );
  }
  return aliases;
}

function checkMethodName(signature: Signature): void {
  if (signature.methodName !== CLASSIFY_METHOD_NAME) {
    throw invalidArgument(
      `Expected classification signature method_name to be ${CLASSIFY_METHOD_NAME}. Was: ${signature.methodName}`,
    );
  }
}

/** The outputs of a run over `numExamples` examples as a ClassificationResult (PostProcessClassificationResult). */
export function classificationResult(
  numExamples: number,
  outputs: Map<string, HostTensorOutput>,
): ClassificationResultMessage {
  const classes = outputs.get(CLASSIFY_OUTPUT_CLASSES);
  const scores = outputs.get(CLASSIFY_OUTPUT_SCORES);
  if (classes) checkOutput('classes', classes, DataType.DT_STRING, numExamples);
  if (scores) checkOutput('scores', scores, DataType.DT_FLOAT, numExamples);
  if (classes && scores && classes.shape[1] !== scores.shape[1]) {
    throw invalidArgument(
      `Tensors class and score should match in dim_size(1). Got ${classes.shape[1]} vs. ${scores.shape[1]}`,
    );
  }
  const numClasses = (classes ?? scores)?.shape[1] ?? 0;
  const labels = classes?.strings ?? [];
  const values = scores ? new Float32Array(scores.data ?? new ArrayBuffer(0)) : undefined;
  const classifications: ClassificationResultMessage['classifications'] = [];
  for (let example = 0; example < numExamples; example++) {
    const row: Array<{ label?: string; score?: number }> = [];
    for (let c = 0; c < numClasses; c++) {
      const index = example * numClasses + c;
      const entry: { label?: string; score?: number } = {};
      if (classes) entry.label = labels[index].toString('utf8');
      if (values) entry.score = values[index];
      row.push(entry);
    }
    classifications.push({ classes: row });
  }
  return { classifications };
}

function checkOutput(name: 'classes' | 'scores', tensor: HostTensorOutput, dtype: number, numExamples: number): void {
  if (tensor.shape.length !== 2) {
    throw invalidArgument(`Expected Tensor shape: [batch_size num_classes] but got ${shapeDebugString(tensor.shape)}`);
  }
  if (tensor.dtype !== dtype) {
    throw invalidArgument(`Expected ${name} Tensor of ${dataTypeName(dtype)}. Got: ${dataTypeName(tensor.dtype)}`);
  }
  if (tensor.shape[0] !== numExamples) {
    throw invalidArgument(`Expected ${name} output batch size of ${numExamples}. Got: ${tensor.shape[0]}`);
  }
}
