/**
 * Predict as one use case, shaped like TF-Serving's predictor (predict_util.cc RunPredict):
 * gRPC, REST, warmup, Classify/Regress (runOnExamples) and every chain step call `predict()`.
 * It resolves the signature once and checks the request's input aliases and output_filter
 * once, in TF-Serving's words and order; each input's expected dtype (and, for AOTInductor,
 * shape) travels with it to the native run, which checks it once after decoding. Each run
 * with an origin is recorded in TF-Serving's runtime_latency.
 */
import { failedPrecondition, invalidArgument } from '../errors/serving_error';
import { recordRuntimeLatency } from '../monitoring/request_metrics';
import type { NativeOutput } from '../native/backend_addon';
import type { CheckedInput, CheckedRun, InferenceServable, RunRequest } from './inference_servable';
import { DEFAULT_SIGNATURE_NAME, type Signature, type SignatureMap } from './signature';

/** Runs `request` on `servable` once it has been checked against the signature it names. */
export function predict(servable: InferenceServable, request: RunRequest): Promise<Map<string, NativeOutput>> {
  // Not async: the run's own promise is the answer, without one more around it.
  let run: CheckedRun;
  try {
    const signatureName = request.signatureName || DEFAULT_SIGNATURE_NAME;
    run = checkRun(predictSignature(servable.signatures, signatureName), signatureName, request);
  } catch (error) {
    return Promise.reject(error);
  }
  return runRecorded(servable, run);
}

/**
 * Runs a checked request on `servable`; a successful run with an origin is recorded in
 * runtime_latency, as TF-Serving times its session->Run.
 */
export function runRecorded(servable: InferenceServable, run: CheckedRun): Promise<Map<string, NativeOutput>> {
  const { origin } = run;
  const runtime = servable.runtime;
  if (!origin || runtime === undefined) return servable.runChecked(run);
  const started = performance.now();
  return servable.runChecked(run).then((outputs) => {
    recordRuntimeLatency(origin.modelName, origin.api, runtime, (performance.now() - started) * 1000);
    return outputs;
  });
}

/** The signature Predict runs; an unknown one is FAILED_PRECONDITION, as in TF-Serving. */
export function predictSignature(signatures: SignatureMap, signatureName: string): Signature {
  const signature = signatures.get(signatureName);
  if (!signature) throw failedPrecondition(`Serving signature key "${signatureName}" not found.`);
  return signature;
}

/** Checks `request` against `signature` (PreProcessPrediction): input aliases, then the output filter. */
export function checkRun(signature: Signature, signatureName: string, request: RunRequest): CheckedRun {
  return {
    signatureName,
    inputs: request.inputs,
    outputFilter: request.outputFilter,
    encoding: request.encoding,
    timings: request.timings,
    deadlineUs: request.deadlineUs,
    cancelled: request.cancelled,
    origin: request.origin,
    signature,
    checkedInputs: checkInputs(signature, request.inputs),
    outputAliases: checkOutputFilter(signature, request.outputFilter),
  };
}

function sortedKeys(map: Map<string, unknown>): string {
  return [...map.keys()].sort().join(',');
}

function checkInputs(signature: Signature, inputs: RunRequest['inputs']): CheckedInput[] {
  const checked: CheckedInput[] = [];
  for (const [alias, source] of inputs) {
    const spec = signature.inputs.get(alias);
    if (!spec) {
      throw invalidArgument(
        `input tensor alias not found in signature: ${alias}. Inputs expected to be in the set {${sortedKeys(signature.inputs)}}.`,
      );
    }
    checked.push({ alias, spec, source });
  }
  if (inputs.size !== signature.inputs.size) {
    const sent = [...inputs.keys()].sort();
    const missing = [...signature.inputs.keys()].filter((alias) => !inputs.has(alias)).sort();
    throw invalidArgument(
      `input size does not match signature: ${inputs.size}!=${signature.inputs.size} len({${sent.join(',')}}) != len({${sortedKeys(signature.inputs)}}). Sent extra: {}. Missing but required: {${missing.join(',')}}.`,
    );
  }
  return checked;
}

/** The output aliases to fetch: the filter's, or all. */
function checkOutputFilter(signature: Signature, outputFilter: string[]): string[] {
  if (outputFilter.length === 0) return [...signature.outputs.keys()];
  const seen = new Set<string>();
  for (const alias of outputFilter) {
    if (!signature.outputs.has(alias)) {
      throw invalidArgument(
        `output tensor alias not found in signature: ${alias} Outputs expected to be in the set {${sortedKeys(signature.outputs)}}.`,
      );
    }
    if (seen.has(alias)) throw invalidArgument(`duplicate output tensor alias: ${alias}`);
    seen.add(alias);
  }
  return outputFilter;
}
