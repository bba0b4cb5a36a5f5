/**
 * Regress over any InferenceServable, with TF-Serving's checks and messages (regressor.cc): a
 * signature with one input "inputs" (the serialized Examples) and one output "outputs"
 * (DT_FLOAT [batch] or [batch, 1]); the result is one value per example.
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
import { REGRESS_METHOD_NAME, Signature } from './signature';
import { signatureDebugString } from './signature_debug_string';

export const REGRESS_INPUTS = 'inputs';
export const REGRESS_OUTPUTS = 'outputs';

/** tensorflow.serving.RegressionResult as protobufjs encodes it. */
export interface RegressionResultMessage {
  regressions: Array<{ value: number }>;
}

export async function regress(
  servable: InferenceServable,
  request: ExamplesRequest,
  options: ExampleInferenceOptions = {},
): Promise<RegressionResultMessage> {
  const signatureName = signatureNameOf(request.signatureName);
  const signature = signatureNamed(servable.signatures, signatureName);
  const outputAliases = regressionOutputs(signature, options);
  const examples = serializedExamplesTensor(request.input);
  const outputs = await runOnExamples(
    servable,
    [signatureName, signature],
    REGRESS_INPUTS,
    examples,
    outputAliases,
    request,
  );
  return regressionResult(examples.shape[0], outputs);
}

/** Checks the signature's inputs and outputs; the output alias to fetch (PreProcessRegression). */
export function regressionOutputs(signature: Signature, options: ExampleInferenceOptions): string[] {
  if (options.enableSignatureMethodNameCheck) checkMethodName(signature);
  if (signature.inputs.size !== 1) throw invalidArgument('Expected one input Tensor.');
  if (signature.outputs.size !== 1) throw invalidArgument('Expected one output Tensor.');
  if (!signature.inputs.has(REGRESS_INPUTS)) {
    throw invalidArgument(`No regression inputs found in SignatureDef: ${signatureDebugString(signature)}`);
  }
  if (!signature.outputs.has(REGRESS_OUTPUTS)) {
    throw invalidArgument(`No regression outputs found in SignatureDef: ${signatureDebugString(signature)}`);
  }
  return [REGRESS_OUTPUTS];
}

function checkMethodName(signature: Signature): void {
  if (signature.methodName !== REGRESS_METHOD_NAME) {
    throw invalidArgument(
      `Expected regression signature method_name to be ${REGRESS_METHOD_NAME}. Was: ${signature.methodName}`,
    );
  }
}

/** The output of a run over `numExamples` examples as a RegressionResult (PostProcessRegressionResult). */
export function regressionResult(numExamples: number, outputs: Map<string, HostTensorOutput>): RegressionResultMessage {
  const output = outputs.get(REGRESS_OUTPUTS);
  if (!output) throw invalidArgument(`Could not find output tensor '${REGRESS_OUTPUTS}'`);
  const { shape } = output;
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw invalidArgument(
      `Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got ${shapeDebugString(shape)}`,
    );
  }
  if (shape[0] !== numExamples) {
    throw invalidArgument(`Input batch size did not match output batch size: ${numExamples} vs. ${shape[0]}`);
  }
  if (output.dtype !== DataType.DT_FLOAT) {
    throw invalidArgument(`Expected output Tensor of DT_FLOAT.  Got: ${dataTypeName(output.dtype)}`);
  }
  const elements = shape.reduce((product, size) => product * size, 1);
  if (elements !== numExamples) {
    throw invalidArgument(`Expected output batch size to be ${numExamples}.  Got: ${elements}`);
  }
  const values = new Float32Array(output.data ?? new ArrayBuffer(0), 0, numExamples);
  return { regressions: Array.from(values, (value) => ({ value })) };
}
