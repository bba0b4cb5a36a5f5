/**
 * One warmup record: a tensorflow.serving.PredictionLog, read through its envelope
 * (proto/duoserve/prediction_log_envelopes.proto) so that the request stays bytes for the API that
 * replays it.
 */
import { Protos } from '../../protos';

/** PredictionLog's log_type oneof, by field name. */
export type WarmupLogType =
  'classify_log' | 'regress_log' | 'predict_log' | 'predict_streamed_log' | 'multi_inference_log' | 'session_run_log';

export interface WarmupLog {
  /** undefined when the record sets no log_type. */
  type?: WarmupLogType;
  /** The serialized request (every request of a predict_streamed_log). */
  requests: Uint8Array[];
}

interface PredictionLogEnvelope {
  log_type?: WarmupLogType;
  predict_streamed_log?: { request: Uint8Array[] };
  [logType: string]: unknown;
}

/** Decodes one record; throws protobufjs's error when the bytes are no PredictionLog. */
export function decodeWarmupLog(record: Uint8Array): WarmupLog {
  const log = Protos.PredictionLogEnvelope.decode(record) as unknown as PredictionLogEnvelope;
  const type = log.log_type;
  if (type === undefined) return { requests: [] };
  if (type === 'predict_streamed_log') return { type, requests: log.predict_streamed_log!.request };
  return { type, requests: [(log[type] as { request: Uint8Array }).request] };
}
