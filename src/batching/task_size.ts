/**
 * TF-Serving's ComputeTensorBatchSize (batching_util): a run's size in rows is its inputs'
 * common dim 0, read without decoding (TensorCodec.leadingDim), with TF's INVALID_ARGUMENT
 * messages for runs that cannot be batched.
 */
import { invalidArgument } from '../errors/serving_error';
import type { TensorCodec } from '../native/backend_addon';
import type { CheckedRun } from '../servables/inference_servable';

/**
 * The run's rows; undefined when an input's bytes cannot be read (leadingDim -2): that run goes
 * unbatched, so the ordinary decode reports what is wrong with it.
 */
export function taskSize(run: CheckedRun, codec: TensorCodec): number | undefined {
  if (run.checkedInputs.length === 0) throw invalidArgument('Batching Run() must have at least one input tensor');
  let size: number | undefined;
  for (const input of run.checkedInputs) {
    const dim0 = codec.leadingDim(input.source);
    if (dim0 === -2) return undefined;
    if (dim0 === -1) throw invalidArgument('Batching Run() input tensors must have at least one dimension');
    if (size !== undefined && dim0 !== size) {
      throw invalidArgument('Batching Run() input tensors must have equal 0th-dimension size');
    }
    size = dim0;
  }
  return size;
}
