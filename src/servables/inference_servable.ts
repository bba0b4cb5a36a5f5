import type { CancelFlag, OutputEncoding, NativeOutput, TensorSource } from '../native/backend_addon';
import type { Signature, SignatureMap, TensorSpec } from './signature';

/**
 * What a loaded version of any platform (a TensorFlow model, a PyTorch model, a chain)
 * offers to the APIs. The lifecycle core holds it as an opaque servable; only the API layer
 * and chains use this interface, and every caller goes through `predict()` (predictor.ts),
 * which checks a request against the signature once before `runChecked` sees it.
 */
export interface InferenceServable {
  readonly signatures: SignatureMap;
  /**
   * The runtime label of TF-Serving's runtime_latency for this servable's runs ('TF1' for a
   * TensorFlow session, ...); absent (a chain): its runs are not recorded there, its steps' are.
   */
  readonly runtime?: string;
  /**
   * Runs a request the predictor has checked: its signature exists, its aliases are the
   * signature's, its output filter names known outputs. The result is keyed by output alias.
   * Dtypes (and shapes, where a platform needs them) are checked by the native run after
   * decoding. Rejects with ServingError.
   */
  runChecked(run: CheckedRun): Promise<Map<string, NativeOutput>>;
}

export interface RunRequest {
  /** '' means the default signature. */
  signatureName: string;
  inputs: Map<string, TensorSource>;
  outputFilter: string[];
  encoding: OutputEncoding;
  /**
   * Set when the caller wants per-step timings (x-duoserve-chain-timing): a chain fills it
   * with step name -> wall-clock microseconds of that step's run. Models leave it alone.
   */
  timings?: Map<string, number>;
  /**
   * When the caller stops waiting (the gRPC call's deadline, --rest_api_timeout_in_ms), in
   * microseconds on process.hrtime()'s clock (run_deadline.ts): a run still queued then never
   * starts. Absent: no deadline.
   */
  deadlineUs?: number;
  /**
   * Set when the caller stops listening (a gRPC call its client cancelled; run_deadline.ts): a
   * run still queued then never starts, and is answered CANCELLED. Absent: never.
   */
  cancelled?: CancelFlag;
  /**
   * The API request this run serves, for runtime_latency: set where TF-Serving records it
   * (Predict, Classify, Regress and their warmup replays); absent (chain steps, MultiInference): not recorded.
   */
  origin?: RunOrigin;
}

/** An API request as TF-Serving's runtime_latency labels it. */
export interface RunOrigin {
  /** The request's model_spec.name. */
  modelName: string;
  api: 'Predict' | 'Classify' | 'Regress' | 'ModelInfer';
}

/** A RunRequest checked against its signature by the predictor. */
export interface CheckedRun extends RunRequest {
  /** The resolved signature name ('' became the default). */
  signatureName: string;
  signature: Signature;
  /** The request's inputs in request order, each with its signature entry. */
  checkedInputs: Array<CheckedInput>;
  /** The output aliases to fetch: the filter's, or every output of the signature. */
  outputAliases: string[];
}

export interface CheckedInput {
  alias: string;
  spec: TensorSpec;
  source: TensorSource;
}
