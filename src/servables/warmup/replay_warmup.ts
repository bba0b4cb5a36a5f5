/**
 * SavedModel warmup as TF-Serving does it, for a version of any platform: the records of
 * `<version dir>/assets.extra/tf_serving_warmup_requests` (a TFRecord file of PredictionLog)
 * are replayed in order through the freshly loaded servable, each `numRequestIterations`
 * times, before the version is served, so that lazy initialization happens at load time
 * rather than on the first client request. Any failure fails the version's load. Each warmup
 * that finds its file is recorded in TF-Serving's model_warmup_latency and
 * model_warmup_records_read, failed ones too (as TF-Serving's multi-threaded warmup records them).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { invalidArgument, ServingError, toServingError, unimplemented } from '../../errors/serving_error';
import { recordWarmup } from '../../monitoring/warmup_metrics';
import type { InferenceServable } from '../inference_servable';
import { replayPredict } from './predict_replayer';
import { readTFRecords } from './tfrecord_reader';
import { decodeWarmupLog, type WarmupLog } from './warmup_log';
import type { WarmupReplayer, WarmupReplayers } from './warmup_replayer';

export const WARMUP_FILE = path.join('assets.extra', 'tf_serving_warmup_requests');

/** TF-Serving's WarmupConsts::kMaxNumRecords. */
export const MAX_WARMUP_RECORDS = 1000;

export interface WarmupOptions {
  /** --num_request_iterations_for_warmup: 0 or less means once, as TF-Serving reads it. */
  numRequestIterations: number;
  /** Replayers besides the built-in predict_log one (which an entry here replaces). */
  replayers: WarmupReplayers;
}

export interface WarmupResult {
  file: string;
  records: number;
  iterations: number;
  ms: number;
}

/** Log types TF-Serving's SavedModel warmup passes over without running anything. */
const SKIPPED = new Set<WarmupLog['type']>([undefined, 'predict_streamed_log']);

/**
 * Replays the version's warmup file, if it has one (undefined when it has none). Rejects with
 * a ServingError naming the file and the record index (0-based): DATA_LOSS for a corrupt or
 * truncated file, INVALID_ARGUMENT for a record that is no PredictionLog or past the
 * 1000-record limit, UNIMPLEMENTED for a log type nothing can replay (session_run_log as in
 * TF-Serving, or an API duoserve lacks), and the request's own error when a replay fails.
 */
export async function replayWarmup(
  versionDir: string,
  servable: InferenceServable,
  options: WarmupOptions,
): Promise<WarmupResult | undefined> {
  const file = path.join(versionDir, WARMUP_FILE);
  if (!(await exists(file))) return undefined;
  const started = process.hrtime.bigint();
  const iterations = Math.max(1, options.numRequestIterations);
  const replayers = new Map<WarmupLog['type'], WarmupReplayer>([['predict_log', replayPredict], ...options.replayers]);
  let records = 0;
  try {
    for await (const record of readTFRecords(file)) {
      const where = `record ${record.index} of ${file}`;
      if (record.index >= MAX_WARMUP_RECORDS) {
        throw invalidArgument(`Number of warmup records exceeds the maximum (${MAX_WARMUP_RECORDS}) at ${file}`);
      }
      const log = decodeRecord(record.data, where);
      const replay = replayers.get(log.type);
      if (!replay && !SKIPPED.has(log.type)) {
        throw unimplemented(`Unsupported log_type for warmup: ${log.type} (${where})${unsupportedReason(log.type)}`);
      }
      for (let i = 0; replay && i < iterations; i++) {
        for (const request of log.requests) await replayRequest(replay, servable, request, where);
      }
      records++;
    }
  } catch (error) {
    const failure = toServingError(error);
    recordWarmup(versionDir, failure, elapsedMicros(started), records);
    if (failure.code === 'DATA_LOSS') {
      throw new ServingError('DATA_LOSS', `${failure.message}. Please verify your warmup data is in TFRecord format.`);
    }
    throw failure;
  }
  const micros = elapsedMicros(started);
  recordWarmup(versionDir, undefined, micros, records);
  return { file, records, iterations, ms: micros / 1000 };
}

function elapsedMicros(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1000;
}

function decodeRecord(data: Uint8Array, where: string): WarmupLog {
  try {
    return decodeWarmupLog(data);
  } catch (error) {
    throw invalidArgument(`Failed to parse warmup ${where} as a PredictionLog: ${(error as Error).message}`);
  }
}

async function replayRequest(replay: WarmupReplayer, servable: InferenceServable, request: Uint8Array, where: string) {
  try {
    await replay(servable, request);
  } catch (error) {
    const failure = toServingError(error);
    throw new ServingError(failure.code, `Warmup request failed (${where}): ${failure.message}`);
  }
}

function unsupportedReason(type: WarmupLog['type']): string {
  return type === 'session_run_log'
    ? '; TensorFlow Serving does not replay session_run_log either'
    : '; this server has no API to replay it with yet';
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
