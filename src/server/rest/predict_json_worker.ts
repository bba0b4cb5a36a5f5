/** The worker side of predict_json.ts: one large Predict body read, or one large response written. */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { toServingError } from '../../errors/serving_error';
import type { NativeOutput } from '../../native/backend_addon';
import { predictResponseJson } from './json/json_tensors_response';
import {
  ownsItsMemory,
  predictBodyFromText,
  type PredictBody,
  type ReadTask,
  type WorkerOutcome,
  type WriteTask,
} from './predict_json';

export function readPredictBodyTask({ body, signatures }: ReadTask) {
  return outcomeOf(() => {
    const read = predictBodyFromText(
      Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'),
      signatures,
    );
    const buffers = new Set<ArrayBuffer>();
    for (const tensor of read?.inputs.values() ?? [])
      if ('data' in tensor) buffers.add(tensor.data.buffer as ArrayBuffer);
    return { value: read, transfer: [...buffers] };
  });
}

export function writePredictResponseTask({ outputs, format }: WriteTask) {
  return outcomeOf(() => {
    // The writer reads dtype, shape, data and strings only, never the native handle.
    const bytes = Buffer.from(predictResponseJson(outputs as Map<string, NativeOutput>, format), 'utf8');
    return { value: bytes, transfer: ownsItsMemory(bytes) ? [bytes.buffer] : [] };
  });
}

function outcomeOf<T extends PredictBody | undefined | Buffer>(work: () => { value: T; transfer: ArrayBuffer[] }) {
  try {
    const { value, transfer } = work();
    const outcome: WorkerOutcome<T> = { value };
    return move({ [transferableSymbol]: transfer, [valueSymbol]: outcome });
  } catch (error) {
    const { code, message } = toServingError(error);
    const outcome: WorkerOutcome<T> = { error: { code, message } };
    return outcome;
  }
}
