/**
 * A typed client of TF-Serving's REST API (/v1/models/...) over fetch: Predict (the columnar
 * "inputs" form), Classify, Regress, metadata and status. REST's JSON carries no dtypes, so
 * Predict reads each model version's signature once (GET .../metadata, kept per model spec) to
 * type its outputs; int64 values are read exactly (src/tensors/json_parse.ts). An error answer
 * rejects with ServingError: the HTTP status as its canonical code, the body's "error" as its
 * message.
 */
import { ServingError, invalidArgument } from '../errors/serving_error';
import type { ServableState } from '../core/servable_state';
import { isStatusCodeName } from '../errors/status_code';
import type { ModelSpec, PredictOptions } from '../library/model_host';
import type { ExampleFeatures, ExamplesInput, FeatureValues } from '../library/example_features';
import { tensorSourcesOf, type TensorInput } from '../library/tensor_input';
import { loadTensorCodec, type TensorSource } from '../native/backend_addon';
import { DEFAULT_SIGNATURE_NAME, type SignatureMap } from '../servables/signature';
import { DataType } from '../tensors/data_type';
import { dataTypeString } from '../tensors/data_type_string';
import { bfloat16Bits, bfloat16ToNumber, halfBits, halfToNumber } from '../tensors/float16';
import { parseJsonText, type JsonValue } from '../tensors/json_parse';
import { tensorValues, typedArrayTypeOf, type TensorValues, type TypedTensor } from '../tensors/typed_tensor';
import { servingErrorOfRest } from './client_errors';
import type { ClassifyResult, ModelVersionStatus, PredictResult, RegressResult } from './client_types';
import { signatureMapOf } from './signature_def_map';

export interface RestCallOptions {
  /** Abandon the request after this long (DEADLINE_EXCEEDED); default 30 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class RestServingClient {
  private readonly baseUrl: string;
  /** Signatures by model spec path, for typing Predict's outputs. */
  private readonly signatures = new Map<string, SignatureMap>();

  /** `baseUrl`: the REST API's root, e.g. "http://127.0.0.1:8501". */
  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Predict: the outputs by alias, typed by the signature (read once per model spec). */
  async predict(
    spec: ModelSpec,
    inputs: Readonly<Record<string, TensorInput>> | ReadonlyMap<string, TensorInput>,
    options: PredictOptions = {},
  ): Promise<PredictResult> {
    if (options.outputFilter?.length) throw invalidArgument("REST's Predict has no output_filter");
    const signatureName = signatureNameOf(spec) ?? options.signatureName ?? '';
    const entries = await Promise.all(
      [...tensorSourcesOf(inputs)].map(
        async ([alias, source]) => `${JSON.stringify(alias)}:${await tensorJson(source)}`,
      ),
    );
    const body = `{"signature_name":${JSON.stringify(signatureName)},"inputs":{${entries.join(',')}}}`;
    // The signature is read beside the run (once per model spec); the run's own error, if any,
    // is the one reported.
    const signatures = this.signatureMap(spec, options.timeoutMs);
    void signatures.catch(() => undefined);
    const answer = (await this.send('POST', `${modelPath(spec)}:predict`, body, options.timeoutMs)) as any;
    const cached = await signatures;
    const name = signatureName || DEFAULT_SIGNATURE_NAME;
    const signature =
      cached.get(name) ?? (await this.getModelMetadata(spec, { timeoutMs: options.timeoutMs })).signatures.get(name);
    if (!signature) throw new ServingError('INTERNAL', `the server ran signature ${name}, which its metadata lacks`);
    const outputs = answer?.outputs;
    const aliases = [...signature.outputs.keys()];
    // TF-Serving writes a lone output without its alias.
    const byAlias: Record<string, JsonValue> = aliases.length === 1 ? { [aliases[0]]: outputs } : (outputs ?? {});
    return {
      outputs: Object.fromEntries(
        Object.entries(byAlias).map(([alias, value]) => {
          const spec = signature.outputs.get(alias);
          if (!spec) throw new ServingError('INTERNAL', `the server answered output ${alias}, not in the signature`);
          return [alias, tensorOfJson(value, spec.dtype, alias)];
        }),
      ),
    };
  }

  async classify(spec: ModelSpec, input: ExamplesInput, options: RestCallOptions = {}): Promise<ClassifyResult> {
    const answer = (await this.examplesCall('classify', spec, input, options)) as any;
    const classifications = (answer?.results ?? []).map((classes: Array<[string, number]>) =>
      classes.map(([label, score]) => ({ label, score: Number(score) })),
    );
    return { classifications };
  }

  async regress(spec: ModelSpec, input: ExamplesInput, options: RestCallOptions = {}): Promise<RegressResult> {
    const answer = (await this.examplesCall('regress', spec, input, options)) as any;
    return { values: Float32Array.from((answer?.results ?? []).map(Number)) };
  }

  /** GET .../metadata: the answering version and its signatures. */
  async getModelMetadata(
    spec: ModelSpec,
    options: RestCallOptions = {},
  ): Promise<{ modelSpec: { name: string; version: number }; signatures: SignatureMap }> {
    const answer = (await this.send('GET', `${modelPath(spec)}/metadata`, undefined, options.timeoutMs)) as any;
    const signatures = signatureMapOf(answer?.metadata?.signature_def);
    this.signatures.set(modelPath(spec), signatures);
    return {
      modelSpec: { name: answer?.model_spec?.name ?? '', version: Number(answer?.model_spec?.version ?? 0) },
      signatures,
    };
  }

  /** GET /v1/models/NAME[/versions/N]: the versions and their states. */
  async getModelStatus(spec: ModelSpec, options: RestCallOptions = {}): Promise<ModelVersionStatus[]> {
    const answer = (await this.send('GET', modelPath(spec), undefined, options.timeoutMs)) as any;
    return (answer?.model_version_status ?? []).map((entry: any) => {
      const code = entry.status?.error_code;
      return {
        version: Number(entry.version),
        state: entry.state as ServableState,
        status: { code: isStatusCodeName(code) ? code : 'OK', message: entry.status?.error_message ?? '' },
      };
    });
  }

  private async signatureMap(spec: ModelSpec, timeoutMs?: number): Promise<SignatureMap> {
    return this.signatures.get(modelPath(spec)) ?? (await this.getModelMetadata(spec, { timeoutMs })).signatures;
  }

  private examplesCall(
    verb: 'classify' | 'regress',
    spec: ModelSpec,
    { examples, context }: ExamplesInput,
    options: RestCallOptions,
  ): Promise<JsonValue> {
    const parts = [`"signature_name":${JSON.stringify(signatureNameOf(spec) ?? '')}`];
    if (context !== undefined) parts.push(`"context":${exampleJson(context)}`);
    parts.push(`"examples":[${examples.map(exampleJson).join(',')}]`);
    return this.send('POST', `${modelPath(spec)}:${verb}`, `{${parts.join(',')}}`, options.timeoutMs);
  }

  private async send(method: 'GET' | 'POST', path: string, body: string | undefined, timeoutMs = DEFAULT_TIMEOUT_MS) {
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        body,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError') throw new ServingError('DEADLINE_EXCEEDED', `no answer within ${timeoutMs} ms`);
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new ServingError('UNAVAILABLE', `cannot reach ${this.baseUrl}: ${cause}`);
    }
    if (!response.ok) {
      throw servingErrorOfRest(response.status, text);
    }
    return parseJsonText(text);
  }
}

function signatureNameOf(spec: ModelSpec): string | undefined {
  return typeof spec === 'string' ? undefined : spec.signatureName;
}

/** /v1/models/NAME[/versions/N|/labels/L]. */
function modelPath(spec: ModelSpec): string {
  const { name, version, label } =
    typeof spec === 'string' ? { name: spec, version: undefined, label: undefined } : spec;
  const base = `/v1/models/${encodeURIComponent(name)}`;
  if (version !== undefined) return `${base}/versions/${version}`;
  if (label !== undefined) return `${base}/labels/${encodeURIComponent(label)}`;
  return base;
}

/**
 * An input as JSON: nested lists following its shape (TensorProto bytes, raw BYTES contents and
 * handles are read into a tensor first, by the codec).
 */
async function tensorJson(source: TensorSource): Promise<string> {
  let tensor: TypedTensor;
  if (
    source instanceof Uint8Array ||
    !('dtype' in source) ||
    (source.dtype === DataType.DT_STRING && 'data' in source)
  ) {
    const host = await loadTensorCodec().decode(source);
    tensor = { dtype: host.dtype, shape: host.shape, values: tensorValues(host.dtype, host.data, host.strings) };
  } else if ('strings' in source) {
    tensor = { dtype: source.dtype, shape: source.shape, values: source.strings.map((bytes) => Buffer.from(bytes)) };
  } else {
    const ArrayType = typedArrayTypeOf(source.dtype);
    if (!ArrayType) throw invalidArgument(`no JSON form for ${dataTypeString(source.dtype)} input values`);
    const { buffer, byteOffset, byteLength } = source.data;
    // Copied: the view may not be aligned for its element type, and JSON text is a copy anyway.
    const bytes = new Uint8Array(buffer, byteOffset, byteLength).slice().buffer;
    tensor = { dtype: source.dtype, shape: source.shape, values: new ArrayType(bytes) };
  }
  return nestedJson(tensor);
}

function nestedJson({ dtype, shape, values }: TypedTensor): string {
  const element = elementJson(dtype, values);
  const perElement = dtype === DataType.DT_COMPLEX64 || dtype === DataType.DT_COMPLEX128 ? 2 : 1;
  let next = 0;
  const write = (dim: number): string => {
    if (dim === shape.length) {
      const text = element(next);
      next += perElement;
      return text;
    }
    const items: string[] = [];
    for (let i = 0; i < shape[dim]; i++) items.push(write(dim + 1));
    return `[${items.join(',')}]`;
  };
  return write(0);
}

/**
 * Writes element `i` (index into `values`) as TF-Serving's JSON reads it; NaN and Infinity print
 * as the tokens its parser accepts.
 */
function elementJson(dtype: number, values: TensorValues): (i: number) => string {
  switch (dtype) {
    case DataType.DT_STRING:
      return (i) => `{"b64":"${(values as Buffer[])[i].toString('base64')}"}`;
    case DataType.DT_BOOL:
      return (i) => ((values as Uint8Array)[i] ? 'true' : 'false');
    case DataType.DT_HALF:
      return (i) => String(halfToNumber((values as Uint16Array)[i]));
    case DataType.DT_BFLOAT16:
      return (i) => String(bfloat16ToNumber((values as Uint16Array)[i]));
    case DataType.DT_COMPLEX64:
    case DataType.DT_COMPLEX128:
      return (i) => `[${(values as Float64Array)[i]},${(values as Float64Array)[i + 1]}]`;
    default:
      return (i) => String((values as ArrayLike<number | bigint>)[i]);
  }
}

/** A JSON output (nested lists) as a tensor of `dtype`: the shape is the nesting's. */
function tensorOfJson(value: JsonValue, dtype: number, alias: string): TypedTensor {
  const complex = dtype === DataType.DT_COMPLEX64 || dtype === DataType.DT_COMPLEX128;
  const shape: number[] = [];
  for (let level = value; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  if (complex) shape.pop();
  const leaves: JsonValue[] = [];
  const collect = (item: JsonValue) => (Array.isArray(item) ? item.forEach(collect) : leaves.push(item));
  collect(value);
  if (dtype === DataType.DT_STRING) {
    const strings = leaves.map((leaf) =>
      typeof leaf === 'string'
        ? Buffer.from(leaf)
        : Buffer.from(String((leaf as { b64?: string })?.b64 ?? ''), 'base64'),
    );
    return { dtype, shape, values: strings };
  }
  const ArrayType = typedArrayTypeOf(dtype) as unknown as { new (length: number): TensorValues } | undefined;
  if (!ArrayType) throw new ServingError('INTERNAL', `output ${alias}: no typed array for ${dataTypeString(dtype)}`);
  const values = new ArrayType(leaves.length) as Exclude<TensorValues, Buffer[]>;
  const convert = elementOfJson(dtype);
  for (let i = 0; i < leaves.length; i++) (values as any)[i] = convert(leaves[i]);
  return { dtype, shape, values };
}

function elementOfJson(dtype: number): (leaf: JsonValue) => number | bigint {
  switch (dtype) {
    case DataType.DT_INT64:
    case DataType.DT_UINT64:
      return (leaf) => BigInt(leaf as number | bigint);
    case DataType.DT_BOOL:
      return (leaf) => (leaf ? 1 : 0);
    case DataType.DT_HALF:
      return (leaf) => halfBits(Number(leaf));
    case DataType.DT_BFLOAT16:
      return (leaf) => bfloat16Bits(Number(leaf));
    default:
      return (leaf) => Number(leaf);
  }
}

/** A tf.Example as REST's JSON: floats always with a fraction or exponent (an integer would be int64). */
function exampleJson(features: ExampleFeatures): string {
  const entries = Object.entries(features).map(([name, values]) => `${JSON.stringify(name)}:${featureJson(values)}`);
  return `{${entries.join(',')}}`;
}

function featureJson(values: FeatureValues): string {
  const list = [...values] as Array<number | bigint | string | Uint8Array>;
  const items = list.map((value) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string') return JSON.stringify(value);
    if (value instanceof Uint8Array) return `{"b64":"${Buffer.from(value).toString('base64')}"}`;
    return floatJson(value);
  });
  return `[${items.join(',')}]`;
}

function floatJson(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const text = String(value);
  return /[.eE]/.test(text) ? text : `${text}.0`;
}
