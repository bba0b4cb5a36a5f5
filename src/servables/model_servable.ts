import { failedPrecondition, invalidArgument, toServingError } from '../errors/serving_error';
import type { BackendAddon, ModelHandle, NativeOutput, TensorSource } from '../native/backend_addon';
import type { InferenceServable, RunRequest } from './inference_servable';
import { DataType, dataTypeShortName } from '../tensors/data_type';
import { tensorProtoDtype } from '../tensors/tensor_proto_dtype';
import { DEFAULT_SIGNATURE_NAME, Signature, SignatureMap } from './signature';

/**
 * One loaded model version of any framework: checks a request against the signature, maps
 * aliases to the framework's tensor names, and runs it through the framework's addon. The
 * checks and messages follow TF-Serving's Predict.
 */
export class ModelServable implements InferenceServable {
  constructor(
    private readonly addon: BackendAddon,
    private readonly handle: ModelHandle,
    readonly signatures: SignatureMap,
  ) {}

  async run(request: RunRequest): Promise<Map<string, NativeOutput>> {
    const signatureName = request.signatureName || DEFAULT_SIGNATURE_NAME;
    const signature = this.signatures.get(signatureName);
    if (!signature) throw failedPrecondition(`Serving signature key "${signatureName}" not found.`);
    const inputs = nativeInputs(signature, request.inputs);
    const [aliases, outputNames] = selectOutputs(signature, request.outputFilter);
    let results: Array<[string, NativeOutput]>;
    try {
      results = await this.addon.run(this.handle, inputs, outputNames, request.encoding);
    } catch (error) {
      throw toServingError(error);
    }
    // A signature that lists no outputs (e.g. a PyTorch dict return without signature.json)
    // returns whatever the model produced, under the model's own names.
    const aliasOf = new Map(outputNames.map((name, i) => [name, aliases[i]]));
    return new Map(results.map(([name, output]) => [aliasOf.get(name) ?? name, output]));
  }

  unload(): void {
    this.addon.unload(this.handle);
  }
}

function sortedKeys(map: Map<string, unknown>): string {
  return [...map.keys()].sort().join(',');
}

/** Checks request inputs against the signature (aliases, dtypes) and keys them by tensor name. */
export function nativeInputs(signature: Signature, inputs: Map<string, TensorSource>): Array<[string, TensorSource]> {
  for (const alias of inputs.keys()) {
    if (!signature.inputs.has(alias)) {
      throw invalidArgument(
        `input tensor alias not found in signature: ${alias}. Inputs expected to be in the set {${sortedKeys(signature.inputs)}}.`,
      );
    }
  }
  if (inputs.size !== signature.inputs.size) {
    const sent = [...inputs.keys()].sort();
    const missing = [...signature.inputs.keys()].filter((alias) => !inputs.has(alias)).sort();
    throw invalidArgument(
      `input size does not match signature: ${inputs.size}!=${signature.inputs.size} len({${sent.join(',')}}) != len({${sortedKeys(signature.inputs)}}). Sent extra: {}. Missing but required: {${missing.join(',')}}.`,
    );
  }
  return [...inputs].map(([alias, source], index) => {
    const spec = signature.inputs.get(alias)!;
    checkDtype(spec.dtype, sourceDtype(source), index);
    return [spec.name, source];
  });
}

/** The dtype a source carries, where it can be told without decoding. */
function sourceDtype(source: TensorSource): number | undefined {
  if (source instanceof Uint8Array) return tensorProtoDtype(source);
  if ('dtype' in source) return source.dtype;
  return undefined;
}

/** A signature that names a dtype accepts only that dtype (TF's session message). */
function checkDtype(expected: number, actual: number | undefined, index: number): void {
  if (expected === DataType.DT_INVALID || actual === undefined || actual === expected) return;
  throw invalidArgument(
    `Expects arg[${index}] to be ${dataTypeShortName(expected)} but ${dataTypeShortName(actual)} is provided`,
  );
}

/** [aliases, framework names] of the outputs to fetch: the filter's, or all. */
export function selectOutputs(signature: Signature, outputFilter: string[]): [string[], string[]] {
  const aliases = outputFilter.length > 0 ? outputFilter : [...signature.outputs.keys()];
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
  return [aliases, aliases.map((alias) => signature.outputs.get(alias)!.name)];
}
