/**
 * What Classify, Regress and MultiInference share (TF-Serving's servables/tensorflow/util.cc):
 * the signature a ModelSpec names, one run of a signature over the serialized-Examples tensor
 * (through InferenceServable.run, so any platform whose signature fits can serve them), and
 * the shape text of their errors.
 */
import { internal, invalidArgument } from '../errors/serving_error';
import { isHostTensorOutput, type CancelFlag, type HostTensorOutput } from '../native/backend_addon';
import type { InferenceServable, RunOrigin, RunRequest } from './inference_servable';
import { checkRun, runRecorded } from './predictor';
import type { SerializedExamplesTensor, SerializedInput } from './serialized_input';
import { DEFAULT_SIGNATURE_NAME, type Signature, type SignatureMap } from './signature';

export interface ExampleInferenceOptions {
  /**
   * --enable_signature_method_name_check: a signature must also carry the API's method_name.
   * Off by default, as in TF-Serving: TF2-native models save every signature with the predict
   * method name, and are then accepted when their inputs and outputs fit the API.
   */
  enableSignatureMethodNameCheck?: boolean;
}

/** A ClassificationRequest or RegressionRequest, as far as a servable is concerned. */
export interface ExamplesRequest {
  /** ModelSpec.signature_name; '' means the default signature. */
  signatureName?: string | null;
  input: SerializedInput | null | undefined;
  /** RunRequest.deadlineUs: a run still queued then is not started. */
  deadlineUs?: number;
  /** RunRequest.cancelled: a run still queued when it is set is not started. */
  cancelled?: CancelFlag;
  /** RunRequest.origin: the API request, for runtime_latency. */
  origin?: RunOrigin;
}

/** The signature Classify or Regress runs (GetClassificationSignatureDef / GetRegressionSignatureDef). */
export function signatureNamed(signatures: SignatureMap, signatureName: string): Signature {
  const signature = signatures.get(signatureName);
  if (!signature) throw invalidArgument(`No signature was found with the name: ${signatureName}`);
  return signature;
}

export function signatureNameOf(requested: string | null | undefined): string {
  return requested || DEFAULT_SIGNATURE_NAME;
}

/**
 * Runs `signature` (resolved by the API, with its own message) on the examples through the
 * predictor's checks; the outputs as host tensors, by alias.
 */
export async function runOnExamples(
  servable: InferenceServable,
  [signatureName, signature]: [string, Signature],
  inputAlias: string,
  examples: SerializedExamplesTensor,
  outputAliases: string[],
  { deadlineUs, cancelled, origin }: Pick<RunRequest, 'deadlineUs' | 'cancelled' | 'origin'> = {},
): Promise<Map<string, HostTensorOutput>> {
  const inputs = new Map([[inputAlias, examples]]);
  const request = {
    signatureName,
    inputs,
    outputFilter: outputAliases,
    encoding: 'host',
    deadlineUs,
    cancelled,
    origin,
  } as const;
  const outputs = await runRecorded(servable, checkRun(signature, signatureName, request));
  const host = new Map<string, HostTensorOutput>();
  for (const [alias, output] of outputs) {
    if (!isHostTensorOutput(output)) throw internal(`Output ${alias} did not come back as a host tensor`);
    host.set(alias, output);
  }
  return host;
}

/** TensorShape::DebugString(): "[2,3]". */
export function shapeDebugString(shape: number[]): string {
  return `[${shape.join(',')}]`;
}
