/**
 * One request in a batch queue (TF's BatchingSessionTask), or one piece of a request split
 * across batches under enable_large_batch_splitting (TF's SplitInputTask): each piece runs
 * rows [offset, offset + size) of its request, and the request is answered once every piece
 * has run, with the pieces' outputs concatenated back on dim 0 (any piece's error fails it).
 */
import { ServingError, toServingError } from '../errors/serving_error';
import type {
  CancelFlag,
  HostTensorOutput,
  NativeOutput,
  OutputEncoding,
  TensorCodec,
  TensorSource,
} from '../native/backend_addon';
import { encodeHostOutput } from '../native/output_encoding';
import type { CheckedRun } from '../servables/inference_servable';
import type { SizedTask } from './batch_queue';

export type TaskOutcome = Map<string, NativeOutput> | ServingError;

export interface BatchingTask extends SizedTask {
  readonly size: number;
  /** When it was enqueued, in microseconds on process.hrtime()'s clock. */
  readonly enqueuedUs: number;
  readonly deadlineUs?: number;
  /** Its request's RunRequest.cancelled: a task cancelled before its batch runs is left out of it. */
  readonly cancelled?: CancelFlag;
  /** The encoding its answer needs. */
  readonly encoding: OutputEncoding;
  /** The run to put in the batch; a piece's rows are sliced from its request's inputs here. */
  prepare(): Promise<CheckedRun>;
  /** Its outputs (in `encoding`; a piece's are 'host') or its error. */
  answer(outcome: TaskOutcome): void;
}

/** A whole request: answered by its own outcome. */
export function requestTask(
  run: CheckedRun,
  size: number,
  enqueuedUs: number,
  settle: { resolve: (outputs: Map<string, NativeOutput>) => void; reject: (error: ServingError) => void },
): BatchingTask {
  return {
    size,
    enqueuedUs,
    deadlineUs: run.deadlineUs,
    cancelled: run.cancelled,
    encoding: run.encoding,
    prepare: () => Promise.resolve(run),
    answer: (outcome) => (outcome instanceof ServingError ? settle.reject(outcome) : settle.resolve(outcome)),
  };
}

/** The split_input_task_func of a queue whose tasks are BatchingTasks made by requestTask(). */
export function taskSplitter(codec: TensorCodec) {
  return (task: BatchingTask, firstPieceSize: number, maxPieceSize: number): BatchingTask[] => {
    return new SplitRequest(task, pieceSizes(task.size, firstPieceSize, maxPieceSize), codec).pieces;
  };
}

/** The sizes TF's SplitInputTask cuts `size` rows into: `first` (when > 0), then `max` each, the last the rest. */
export function pieceSizes(size: number, first: number, max: number): number[] {
  const sizes: number[] = [];
  let left = size;
  if (first > 0) {
    sizes.push(Math.min(first, left));
    left -= sizes[0];
  }
  for (; left > 0; left -= max) sizes.push(Math.min(max, left));
  return sizes;
}

class SplitRequest {
  readonly pieces: BatchingTask[];
  private readonly outcomes: Array<Map<string, NativeOutput> | undefined>;
  private remaining: number;
  private failed = false;
  private inputs?: Promise<HostTensorOutput[]>;
  private run?: Promise<CheckedRun>;

  constructor(
    private readonly whole: BatchingTask,
    sizes: number[],
    private readonly codec: TensorCodec,
  ) {
    this.outcomes = sizes.map(() => undefined);
    this.remaining = sizes.length;
    let offset = 0;
    this.pieces = sizes.map((size, index) => {
      const rows = offset;
      offset += size;
      return {
        size,
        enqueuedUs: whole.enqueuedUs,
        deadlineUs: whole.deadlineUs,
        cancelled: whole.cancelled,
        encoding: 'host',
        prepare: () => this.piece(rows, size),
        answer: (outcome) => this.collect(index, outcome),
      };
    });
  }

  /** The request's inputs decoded once (off the JS thread), then rows sliced without copying. */
  private async piece(offset: number, rows: number): Promise<CheckedRun> {
    this.run ??= this.whole.prepare();
    const run = await this.run;
    this.inputs ??= Promise.all(run.checkedInputs.map((input) => this.codec.decode(input.source)));
    const inputs = await this.inputs;
    return {
      ...run,
      encoding: 'host',
      checkedInputs: run.checkedInputs.map((input, i) => ({ ...input, source: sliceRows(inputs[i], offset, rows) })),
    };
  }

  private collect(index: number, outcome: TaskOutcome): void {
    if (this.failed) return;
    if (outcome instanceof ServingError) {
      this.failed = true;
      this.whole.answer(outcome);
      return;
    }
    this.outcomes[index] = outcome;
    if (--this.remaining > 0) return;
    this.assemble().then(
      (outputs) => this.whole.answer(outputs),
      (error: unknown) => this.whole.answer(toServingError(error)),
    );
  }

  private async assemble(): Promise<Map<string, NativeOutput>> {
    const pieces = this.outcomes as Array<Map<string, NativeOutput>>;
    const outputs = new Map<string, NativeOutput>();
    for (const alias of pieces[0].keys()) {
      const joined = await this.codec.decode(concatRows(pieces.map((piece) => piece.get(alias) as HostTensorOutput)));
      outputs.set(alias, await encodeHostOutput(this.codec, joined, this.whole.encoding));
    }
    return outputs;
  }
}

const rowElements = (shape: number[]) => shape.slice(1).reduce((product, dim) => product * dim, 1);

function sliceRows(tensor: HostTensorOutput, offset: number, rows: number): TensorSource {
  const shape = [rows, ...tensor.shape.slice(1)];
  if (tensor.strings) {
    const perRow = rowElements(tensor.shape);
    return { dtype: 7, shape, strings: tensor.strings.slice(offset * perRow, (offset + rows) * perRow) };
  }
  const rowBytes = tensor.shape[0] === 0 ? 0 : tensor.data!.byteLength / tensor.shape[0];
  return { dtype: tensor.dtype, shape, data: new Uint8Array(tensor.data!, offset * rowBytes, rows * rowBytes) };
}

function concatRows(tensors: HostTensorOutput[]): TensorSource {
  const [first] = tensors;
  const rest = first.shape.slice(1).join(',');
  if (tensors.some((tensor) => tensor.shape.slice(1).join(',') !== rest || tensor.dtype !== first.dtype)) {
    throw new ServingError('FAILED_PRECONDITION', 'The pieces of a split request have outputs of different shapes');
  }
  const shape = [tensors.reduce((rows, tensor) => rows + tensor.shape[0], 0), ...first.shape.slice(1)];
  if (first.strings) return { dtype: 7, shape, strings: tensors.flatMap((tensor) => tensor.strings!) };
  return { dtype: first.dtype, shape, data: Buffer.concat(tensors.map((tensor) => new Uint8Array(tensor.data!))) };
}
