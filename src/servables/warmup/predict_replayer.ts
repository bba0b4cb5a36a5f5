/**
 * Replays a warmup predict_log: the PredictRequest runs through the loaded servable as
 * Predict runs it, through the predictor (its signature, inputs and output filter; outputs
 * encoded as TF-Serving's typed fields), and the response is dropped. The record belongs to the
 * version being loaded: the request's model name only labels its runtime_latency, as in TF-Serving.
 */
import { invalidArgument } from '../../errors/serving_error';
import { Protos } from '../../protos';
import { predictInputs } from '../predict_inputs';
import { predict } from '../predictor';
import type { WarmupReplayer } from './warmup_replayer';

interface PredictRequestEnvelope {
  model_spec?: { name?: string; signature_name?: string } | null;
  inputs: Record<string, Uint8Array>;
  output_filter: string[];
}

export const replayPredict: WarmupReplayer = async (servable, request) => {
  let envelope: PredictRequestEnvelope;
  try {
    envelope = Protos.PredictRequestEnvelope.decode(request) as unknown as PredictRequestEnvelope;
  } catch (error) {
    throw invalidArgument(`Failed to parse the PredictRequest: ${(error as Error).message}`);
  }
  await predict(servable, {
    signatureName: envelope.model_spec?.signature_name ?? '',
    inputs: predictInputs(envelope.inputs),
    outputFilter: envelope.output_filter,
    encoding: 'fields',
    // As in TF-Serving, where a replay is a Predict: its runtime_latency, under the record's model name.
    origin: { modelName: envelope.model_spec?.name ?? '', api: 'Predict' },
  });
};
