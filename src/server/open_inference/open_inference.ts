/**
 * The Open Inference Protocol (KServe v2) over duoserve's lifecycle: health, readiness, metadata
 * and inference, implemented once for gRPC's inference.GRPCInferenceService and REST's /v2
 * routes. Each transport decodes its wire form into an InferRequest (infer_request.ts) and
 * encodes the InferResponse; everything between (the version and signature a request names,
 * the datatype and shape of each input, the run through predict(), the ServableHandle and the
 * queue bound) happens here.
 */
import type { Manager } from '../../core/manager';
import { ServingError } from '../../errors/serving_error';
import type { CancelFlag } from '../../native/backend_addon';
import type { ModelQueueBound } from '../model_queue_bound';
import type { Readiness } from '../readiness';
import type { InferRequest, InferResponse, ModelMetadata, ServerMetadata } from './infer_request';

export interface OpenInferenceOptions {
  /** The server's readiness rule (readiness.ts); absent: ready. */
  readiness?: Readiness;
  /** The model_platform of a configured model; undefined for a model not in the config. */
  platformOf: (model: string) => string | undefined;
  /** --duoserve_max_queued_requests_per_model, as for TF-Serving's APIs. */
  queueBound?: ModelQueueBound;
}

/** What a transport passes with each inference request. */
export interface InferCall {
  /** On process.hrtime()'s clock (run_deadline.ts); absent: none. */
  deadlineUs?: number;
  cancelled?: CancelFlag;
  /** REST: --rest_api_timeout_in_ms (withServable's timeoutMs). */
  timeoutMs?: number;
}

export class OpenInference {
  constructor(
    private readonly manager: Manager,
    private readonly options: OpenInferenceOptions,
  ) {}

  /** ServerLive, GET /v2/health/live: true while the process answers. */
  serverLive(): boolean {
    return true;
  }

  /** ServerReady, GET /v2/health/ready: the readiness rule (every configured model AVAILABLE, not draining). */
  serverReady(): boolean {
    return this.options.readiness?.() === undefined;
  }

  /**
   * ModelReady, GET /v2/models/{name}[/versions/{v}]/ready: whether the version (''=any) is
   * AVAILABLE. An unknown model is not ready (false, not an error). A version that is not a
   * number is INVALID_ARGUMENT.
   */
  modelReady(_name: string, _version: string): boolean {
    throw new ServingError('UNIMPLEMENTED', 'Open Inference Protocol: not implemented yet');
  }

  /** ServerMetadata, GET /v2: name "duoserve", the package version, and `extensions` as the transport lists them. */
  serverMetadata(_extensions: string[]): ServerMetadata {
    throw new ServingError('UNIMPLEMENTED', 'Open Inference Protocol: not implemented yet');
  }

  /**
   * ModelMetadata, GET /v2/models/{name}[/versions/{v}]: the default signature's inputs and
   * outputs. Unknown model or version: NOT_FOUND (TF-Serving's words).
   */
  modelMetadata(_name: string, _version: string): Promise<ModelMetadata> {
    return Promise.reject(new ServingError('UNIMPLEMENTED', 'Open Inference Protocol: not implemented yet'));
  }

  /**
   * ModelInfer, POST /v2/models/{name}[/versions/{v}]/infer. Rejects with ServingError:
   * INVALID_ARGUMENT for a bad datatype, shape, contents size, unknown input/output or a
   * missing input (predict()'s words where it has them); NOT_FOUND for an unknown model or
   * version; the run's own errors as they come.
   */
  infer(_request: InferRequest, _call: InferCall): Promise<InferResponse> {
    return Promise.reject(new ServingError('UNIMPLEMENTED', 'Open Inference Protocol: not implemented yet'));
  }
}
