import { toServingError } from '../errors/serving_error';
import type { BackendAddon, ModelHandle, NativeOutput, RunInput } from '../native/backend_addon';
import type { CheckedInput, CheckedRun, InferenceServable } from './inference_servable';
import type { SignatureMap } from './signature';

export interface ModelServableOptions {
  /**
   * The native run compares each input's shape with the signature's. TF-Serving does not (a
   * session decides); an AOTInductor package must, as its compiled code reads its inputs with
   * the sizes it was compiled for and checks none of them.
   */
  checkShapes?: boolean;
}

/**
 * One loaded model version of any framework: maps a checked request's aliases to the
 * framework's tensor names, with each input's expected dtype (and shape), and runs it through
 * the framework's addon.
 */
export class ModelServable implements InferenceServable {
  private readonly checkShapes: boolean;

  constructor(
    private readonly addon: BackendAddon,
    private readonly handle: ModelHandle,
    readonly signatures: SignatureMap,
    options: ModelServableOptions = {},
  ) {
    this.checkShapes = options.checkShapes ?? false;
  }

  async runChecked(run: CheckedRun): Promise<Map<string, NativeOutput>> {
    const inputs = run.checkedInputs.map((input) => this.nativeInput(input));
    const outputs = run.signature.outputs;
    const outputNames = run.outputAliases.map((alias) => outputs.get(alias)!.name);
    let results: Array<[string, NativeOutput]>;
    try {
      results = await this.addon.run(this.handle, inputs, outputNames, run.encoding, run.deadlineUs);
    } catch (error) {
      throw toServingError(error);
    }
    // Outputs come back in the order asked for. A signature that lists no outputs (e.g. a
    // PyTorch dict return without signature.json) returns whatever the model produced, under
    // the model's own names.
    const byAlias = new Map<string, NativeOutput>();
    results.forEach(([name, output], i) => byAlias.set(outputNames[i] === name ? run.outputAliases[i] : name, output));
    return byAlias;
  }

  private nativeInput({ alias, spec, source }: CheckedInput): RunInput {
    if (this.checkShapes && spec.shape) return [spec.name, source, spec.dtype, spec.shape, alias];
    return [spec.name, source, spec.dtype];
  }

  unload(): void {
    this.addon.unload(this.handle);
  }
}
