import { type ServingError, toServingError } from '../errors/serving_error';
import type {
  BackendAddon,
  BatchRunOptions,
  ModelHandle,
  NativeOutput,
  OutputEncoding,
  RunInput,
} from '../native/backend_addon';
import type { CheckedInput, CheckedRun, InferenceServable } from './inference_servable';
import type { SignatureMap } from './signature';

/** What runBatch answers: per run its outputs by alias, or the error that failed it alone. */
export interface BatchOutcome {
  results: Array<Map<string, NativeOutput> | ServingError>;
  /** Rows of the batch that ran, padding included (0: none ran). */
  batchRows: number;
  paddingRows: number;
}

/**
 * runtime_latency's runtime label of each framework: what TF-Serving records for a TensorFlow
 * session ('TF1', its TFLite models included, as they run behind a session there too), and
 * the runtime's own name for PyTorch's two.
 */
export type RuntimeName = 'TF1' | 'TorchScript' | 'AOTInductor';

export interface ModelServableOptions {
  runtime: RuntimeName;
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
  readonly runtime: RuntimeName;

  constructor(
    private readonly addon: BackendAddon,
    private readonly handle: ModelHandle,
    readonly signatures: SignatureMap,
    options: ModelServableOptions,
  ) {
    this.checkShapes = options.checkShapes ?? false;
    this.runtime = options.runtime;
  }

  /** Whether runs check input shapes against the signature's (an AOTInductor package). */
  get checksShapes(): boolean {
    return this.checkShapes;
  }

  async runChecked(run: CheckedRun): Promise<Map<string, NativeOutput>> {
    const inputs = run.checkedInputs.map((input) => this.nativeInput(input));
    const outputNames = outputNamesOf(run);
    try {
      const results = await this.addon.run(
        this.handle,
        inputs,
        outputNames,
        run.encoding,
        run.deadlineUs,
        run.cancelled,
      );
      return byAlias(run, outputNames, results);
    } catch (error) {
      throw toServingError(error);
    }
  }

  /**
   * Runs checked requests of one batching signature (the same input and output tensor names) as
   * one batch, every output in `encoding`. Rejects (every run fails) when the batch cannot run.
   */
  async runBatch(runs: CheckedRun[], encoding: OutputEncoding, options: BatchRunOptions): Promise<BatchOutcome> {
    // Every task lists its inputs in one order: by tensor name.
    const tasks = runs.map((run) => ({
      inputs: run.checkedInputs
        .map((input) => this.nativeInput(input))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      deadlineUs: run.deadlineUs,
      cancelled: run.cancelled,
    }));
    const outputNames = outputNamesOf(runs[0]);
    try {
      const batch = await this.addon.runBatch(this.handle, tasks, outputNames, encoding, options);
      return {
        results: batch.results.map((result, i) =>
          result instanceof Error ? toServingError(result) : byAlias(runs[i], outputNames, result),
        ),
        batchRows: batch.batchRows,
        paddingRows: batch.paddingRows,
      };
    } catch (error) {
      throw toServingError(error);
    }
  }

  private nativeInput({ alias, spec, source }: CheckedInput): RunInput {
    if (this.checkShapes && spec.shape) return [spec.name, source, spec.dtype, spec.shape, alias];
    return [spec.name, source, spec.dtype];
  }

  unload(): void {
    this.addon.unload(this.handle);
  }
}

function outputNamesOf(run: CheckedRun): string[] {
  const outputs = run.signature.outputs;
  return run.outputAliases.map((alias) => outputs.get(alias)!.name);
}

/**
 * Outputs by alias, in the run's own alias order. They come back in the order `outputNames`
 * asked for; a signature that lists no outputs (e.g. a PyTorch dict return without
 * signature.json) returns whatever the model produced, under the model's own names.
 */
function byAlias(
  run: CheckedRun,
  outputNames: string[],
  results: Array<[string, NativeOutput]>,
): Map<string, NativeOutput> {
  const outputs = run.signature.outputs;
  const aliasOf = new Map(run.outputAliases.map((alias) => [outputs.get(alias)!.name, alias]));
  const found = new Map<string, NativeOutput>();
  results.forEach(([name, output], i) => found.set(outputNames[i] === name ? aliasOf.get(name)! : name, output));
  const ordered = new Map<string, NativeOutput>();
  for (const alias of run.outputAliases) if (found.has(alias)) ordered.set(alias, found.get(alias)!);
  for (const [key, output] of found) if (!ordered.has(key)) ordered.set(key, output);
  return ordered;
}
