import * as assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type * as protobuf from 'protobufjs';
import { Protos } from '../../../src/protos';
import { decodeWarmupLog } from '../../../src/servables/warmup/warmup_log';
import { warmupFiles, type WarmupFiles } from './warmup_files';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('PredictionLogEnvelope', () => {
  let files: WarmupFiles;

  before(() => {
    files = warmupFiles();
  });

  test('declares the official field numbers of PredictionLog and its log messages', () => {
    const { fields, log_type } = files.manifest.descriptor;
    const envelope = Protos.PredictionLogEnvelope;
    assert.deepEqual(envelope.oneofs.log_type.oneof, log_type);
    for (const field of envelope.fieldsArray) {
      assert.equal(field.id, fields['tensorflow.serving.PredictionLog'][field.name], field.name);
      if (field.name === 'log_metadata') continue; // LogMetadata itself: test/protos/wire_compat.test.ts
      const official =
        fields[`tensorflow.serving.${field.name === 'predict_streamed_log' ? 'PredictStreamedLog' : 'PredictLog'}`];
      for (const nested of (field.resolve().resolvedType as protobuf.Type).fieldsArray) {
        assert.equal(nested.id, official[nested.name], `${field.name}.${nested.name}`);
      }
    }
    for (const name of ['ClassifyLog', 'RegressLog', 'MultiInferenceLog', 'SessionRunLog']) {
      assert.equal(fields[`tensorflow.serving.${name}`].request, 1);
      assert.equal(fields[`tensorflow.serving.${name}`].response, 2);
    }
  });

  test('records written with the stock classes decode to their type and their exact request bytes', () => {
    const cases: Array<[keyof typeof files.manifest.records, Array<string | undefined>]> = [
      ['predict', ['predict_log', 'predict_log']],
      ['skipped_and_predict', [undefined, 'predict_streamed_log', 'predict_log']],
      ['classify', ['classify_log']],
      ['session_run', ['session_run_log']],
    ];
    for (const [name, types] of cases) {
      const logs = files.manifest.records[name].map((record) => decodeWarmupLog(Buffer.from(record, 'base64')));
      assert.deepEqual(
        logs.map((log) => log.type),
        types,
        name,
      );
      const requests = files.manifest.requests[name];
      logs.forEach((log, i) => {
        const expected = requests[i] === null ? [] : Array.isArray(requests[i]) ? requests[i] : [requests[i]];
        assert.deepEqual(log.requests.map(b64), expected, `${name} record ${i}`);
      });
    }
  });

  test('bytes that are no PredictionLog throw', () => {
    assert.throws(() => decodeWarmupLog(Buffer.from(files.manifest.records.unparseable[1], 'base64')));
  });
});
