import type { OutputEncoding, NativeOutput, TensorSource } from '../native/backend_addon';
import type { SignatureMap } from './signature';

/**
 * What a loaded version of any platform (a TensorFlow model, a PyTorch model, a chain)
 * offers to the APIs. The lifecycle core holds it as an opaque servable; only the API layer
 * and chains use this interface.
 */
export interface InferenceServable {
  readonly signatures: SignatureMap;
  /**
   * Runs one signature. `inputs` are keyed by alias; the result by output alias, restricted
   * to `outputFilter` when it is non-empty. Throws ServingError (INVALID_ARGUMENT for a
   * missing/unknown input or output, FAILED_PRECONDITION for an unknown signature, as TF-Serving).
   */
  run(request: RunRequest): Promise<Map<string, NativeOutput>>;
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
}
