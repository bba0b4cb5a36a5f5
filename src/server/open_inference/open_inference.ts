/**
 * The Open Inference Protocol (KServe v2) over duoserve's lifecycle: health, readiness, metadata
 * and inference, implemented once for gRPC's inference.GRPCInferenceService and REST's /v2
 * routes. Each transport decodes its wire form into an InferRequest (infer_request.ts) and
 * encodes the InferResponse; everything between (the version and signature a request names,
 * the datatype and shape of each input, the run through predict(), the ServableHandle and the
 * queue bound) happens here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Manager } from '../../core/manager';
import type { ServableRequest } from '../../core/servable_request';
import { internal, invalidArgument, ServingError } from '../../errors/serving_error';
import type { CancelFlag, NativeOutput, TensorSource } from '../../native/backend_addon';
import { predict } from '../../servables/predictor';
import { DEFAULT_SIGNATURE_NAME, type TensorSpec } from '../../servables/signature';
import { dataTypeShortName } from '../../tensors/data_type';
import { v2DatatypeOf } from '../../tensors/v2_datatype';
import { servableRequestOf } from '../model_spec';
import type { ModelQueueBound } from '../model_queue_bound';
import type { Readiness } from '../readiness';
import { withServable } from '../with_servable';
import { tensorSourceOf } from './infer_inputs';
import type {
  InferOutput,
  InferOutputEncoding,
  InferParameters,
  InferRequest,
  InferRequestedOutput,
  InferResponse,
  ModelMetadata,
  ServerMetadata,
  TensorMetadata,
} from './infer_request';

export interface OpenInferenceOptions {
  /** The server's readiness rule (readiness.ts); absent: ready. */
  readiness?: Readiness;
  /** The model_platform of a configured model; undefined for a model not in the config. */
  platformOf: (model: string) => string | undefined;
  /** --duoserve_max_queued_requests_per_model, as for TF-Serving's APIs. */
  queueBound?: ModelQueueBound;
}

/** What a transport passes with each inference request. */
export interface InferCall<E extends InferOutputEncoding = 'host'> {
  /** On process.hrtime()'s clock (run_deadline.ts); absent: none. */
  deadlineUs?: number;
  cancelled?: CancelFlag;
  /** REST: --rest_api_timeout_in_ms (withServable's timeoutMs). */
  timeoutMs?: number;
  /**
   * How the outputs come back (InferOutput.tensor): 'raw' (the protocol's raw contents, one
   * Buffer each: gRPC, REST binary outputs) or 'host' (the tensor, for JSON). Default 'host'.
   */
  outputEncoding?: E;
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
  modelReady(name: string, version: string): boolean {
    const number = versionNumber(version);
    return this.manager
      .getVersionStates(name)
      .some((snapshot) => snapshot.state === 'AVAILABLE' && (number === undefined || snapshot.id.version === number));
  }

  /** ServerMetadata, GET /v2: name "duoserve", the package version, and `extensions` as the transport lists them. */
  serverMetadata(extensions: string[]): ServerMetadata {
    return { name: 'duoserve', version: packageVersion(), extensions };
  }

  /**
   * ModelMetadata, GET /v2/models/{name}[/versions/{v}]: the default signature's inputs and
   * outputs (none where the model has no serving_default: its other signatures are reached
   * through the `signature_name` parameter). Unknown model or version: NOT_FOUND (TF-Serving's
   * words).
   */
  modelMetadata(name: string, version: string): Promise<ModelMetadata> {
    let request: ServableRequest;
    try {
      request = servableRequestOf({ name, version: versionSpec(version) });
    } catch (error) {
      return Promise.reject(error);
    }
    return withServable(this.manager, request, async (handle) => {
      const signature = handle.servable.signatures.get(DEFAULT_SIGNATURE_NAME);
      const versions = this.manager
        .getVersionStates(handle.id.name)
        .filter((snapshot) => snapshot.state === 'AVAILABLE')
        .map((snapshot) => snapshot.id.version)
        .sort((a, b) => a - b);
      return {
        name: handle.id.name,
        versions: versions.map(String),
        platform: this.options.platformOf(handle.id.name) ?? '',
        inputs: signature ? tensorMetadata(signature.inputs) : [],
        outputs: signature ? tensorMetadata(signature.outputs) : [],
      };
    });
  }

  /**
   * ModelInfer, POST /v2/models/{name}[/versions/{v}]/infer. Rejects with ServingError:
   * INVALID_ARGUMENT for a bad datatype, shape, contents size, unknown input/output or a
   * missing input (predict()'s words where it has them; a datatype the signature does not
   * take in the session's: "Expects arg[0] to be float but int32 is provided"); NOT_FOUND for
   * an unknown model or version; the run's own errors as they come.
   */
  infer<E extends InferOutputEncoding = 'host'>(request: InferRequest, call: InferCall<E>): Promise<InferResponse<E>> {
    let servable: ServableRequest;
    let signatureName: string;
    try {
      const label = stringParameter(request.parameters, 'version_label');
      if (request.modelVersion !== '' && label !== undefined) {
        throw invalidArgument('A request names a model version or a version_label, not both');
      }
      servable = servableRequestOf({
        name: request.modelName,
        version: versionSpec(request.modelVersion),
        version_label: label,
      });
      signatureName = stringParameter(request.parameters, 'signature_name') ?? '';
    } catch (error) {
      return Promise.reject(error);
    }
    const queueBound = this.options.queueBound;
    return withServable(
      this.manager,
      servable,
      async (handle) => {
        const inputs = new Map<string, TensorSource>();
        for (const input of request.inputs) {
          if (inputs.has(input.name)) throw invalidArgument(`input '${input.name}' is given more than once`);
          inputs.set(input.name, tensorSourceOf(input));
        }
        const named = request.outputs;
        const outputs = await predict(handle.servable, {
          signatureName,
          inputs,
          outputFilter: named.length === 0 ? [] : named.map((output) => output.name),
          encoding: call.outputEncoding ?? 'host',
          deadlineUs: call.deadlineUs,
          cancelled: call.cancelled,
          origin: { modelName: request.modelName, api: 'ModelInfer' },
        });
        const inferOutputs: Array<InferOutput<E>> = [];
        for (const [name, output] of outputs) {
          const requested = named.length === 0 ? undefined : requestedOutput(named, name);
          // predict() answers in the encoding asked for, E.
          inferOutputs.push(inferOutput(name, output, requested));
        }
        return {
          modelName: handle.id.name,
          modelVersion: String(handle.id.version),
          id: request.id,
          outputs: inferOutputs,
        };
      },
      { queueBound, timeoutMs: call.timeoutMs },
    );
  }
}

/** '' (any/the latest) or a version number; anything else is INVALID_ARGUMENT. */
function versionNumber(version: string): number | undefined {
  if (version === '') return undefined;
  const number = /^[0-9]+$/.test(version) ? Number(version) : NaN;
  if (!Number.isSafeInteger(number)) {
    throw invalidArgument(
      `Model version must be a number, not '${version}'; a version label goes in the request parameter version_label`,
    );
  }
  return number;
}

function versionSpec(version: string) {
  const number = versionNumber(version);
  return number === undefined ? undefined : { value: number };
}

function stringParameter(parameters: InferParameters, key: string): string | undefined {
  const value = parameters.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidArgument(`The parameter ${key} must be a string`);
  return value;
}

/** The request's entry for output `name` (a request names a few outputs, at most). */
function requestedOutput(named: InferRequestedOutput[], name: string): InferRequestedOutput | undefined {
  for (const output of named) if (output.name === name) return output;
  return undefined;
}

/** A 'host' or 'raw' output as the protocol describes it. */
function inferOutput(
  name: string,
  output: NativeOutput,
  requested: InferRequestedOutput | undefined,
): InferOutput<InferOutputEncoding> {
  if (Buffer.isBuffer(output))
    throw internal(`output ${name} came back encoded; the Open Inference Protocol asks for 'host' or 'raw' outputs`);
  const datatype = v2DatatypeOf(output.dtype);
  if (datatype === undefined) {
    throw new ServingError(
      'UNIMPLEMENTED',
      `output '${name}' is ${dataTypeShortName(output.dtype)}, which has no Open Inference Protocol datatype`,
    );
  }
  return { name, datatype, shape: output.shape, tensor: output, requested };
}

/**
 * The signature's tensors as the protocol lists them. A dtype it has no datatype for (a model
 * that does not declare it, complex numbers) is reported as ''; an unknown rank as [-1].
 */
function tensorMetadata(tensors: ReadonlyMap<string, TensorSpec>): TensorMetadata[] {
  return [...tensors].map(([name, spec]) => ({
    name,
    datatype: v2DatatypeOf(spec.dtype) ?? '',
    shape: spec.shape ?? [-1],
  }));
}

let version: string | undefined;

/** package.json's version (dist/src/server/open_inference/ is four levels below the checkout). */
function packageVersion(): string {
  version ??= (
    JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  return version;
}
