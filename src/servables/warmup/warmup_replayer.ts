import type { InferenceServable } from '../inference_servable';
import type { WarmupLogType } from './warmup_log';

/**
 * Runs one logged request (its serialized bytes) through a loaded servable and drops the
 * answer; rejects as the API would reject the request. One per log type: predict_log is
 * built in (predict_replayer.ts); the composition root adds classify_log, regress_log and
 * multi_inference_log once those APIs exist.
 */
export type WarmupReplayer = (servable: InferenceServable, request: Uint8Array) => Promise<void>;

export type WarmupReplayers = ReadonlyMap<WarmupLogType, WarmupReplayer>;
