/**
 * What the envelope decode saves: a PredictRequest of the mid-size input decoded (a) as the
 * server does, envelope only (inputs stay TensorProto bytes for C++), and (b) in full into a
 * protobufjs object tree, for an input in float_val and one in tensor_content.
 */
import type * as protobuf from 'protobufjs';
import { Protos } from '../src/protos';
import type { BenchModel } from './models';
import { predictRequestBytes } from './payloads';
import type { RequestTensorEncoding } from './options';
import { round } from './stats';

export interface DecodeCost {
  tensor: RequestTensorEncoding;
  requestBytes: number;
  envelopeUs: number;
  fullUs: number;
  /** fullUs / envelopeUs. */
  ratio: number;
}

const BATCH = 50;

/** Mean microseconds per decode over `durationMs`, after a warm-up of a quarter of it. */
function timeDecode(type: protobuf.Type, bytes: Buffer, durationMs: number): number {
  let sink = 0;
  const run = (ms: number) => {
    const end = process.hrtime.bigint() + BigInt(Math.max(1, Math.round(ms * 1e6)));
    const started = process.hrtime.bigint();
    let count = 0;
    while (process.hrtime.bigint() < end) {
      for (let i = 0; i < BATCH; i++) sink += Object.keys(type.decode(bytes)).length;
      count += BATCH;
    }
    return Number(process.hrtime.bigint() - started) / 1e3 / count;
  };
  run(durationMs / 4);
  const perRequestUs = run(durationMs);
  if (sink < 0) console.log(sink); // keeps the decoded objects observable
  return perRequestUs;
}

export function measureDecodeCost(model: BenchModel, durationMs: number): DecodeCost[] {
  return (['fields', 'content'] as const).map((tensor) => {
    const bytes = predictRequestBytes(model, tensor);
    const envelopeUs = timeDecode(Protos.PredictRequestEnvelope, bytes, durationMs);
    const fullUs = timeDecode(Protos.PredictRequest, bytes, durationMs);
    return {
      tensor,
      requestBytes: bytes.length,
      envelopeUs: round(envelopeUs),
      fullUs: round(fullUs),
      ratio: round(fullUs / envelopeUs),
    };
  });
}
