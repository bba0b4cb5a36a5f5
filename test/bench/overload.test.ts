// bench:overload's options, request and call accounting; the benchmark itself stays out of the test command.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CallLog, overloadRequest, parseOverloadOptions } from '../../bench/overload';
import { Protos } from '../../src/protos';

describe('parseOverloadOptions', () => {
  it('offers 10x capacity for 8 s by default, and refuses what it does not know', () => {
    const options = parseOverloadOptions([]);
    assert.equal(options.factor, 10);
    assert.equal(options.burstS, 8);
    assert.equal(options.payload, 'broadcast');
    assert.equal(parseOverloadOptions(['--factor=3', '--payload=content']).factor, 3);
    assert.throws(() => parseOverloadOptions(['--payload=json']), /--payload must be broadcast or content/);
    assert.throws(() => parseOverloadOptions(['--rps=10']), /unknown flag --rps/);
    assert.throws(() => parseOverloadOptions(['--burst=0']), /--burst must be an integer >= 1/);
  });
});

describe('overloadRequest', () => {
  it('broadcast: one float_val fills [rows, 512]; content: every value as tensor_content', () => {
    const decode = (bytes: Buffer) =>
      Protos.PredictRequest.toObject(Protos.PredictRequest.decode(bytes), { longs: Number }) as {
        inputs: Record<
          string,
          { tensor_shape: { dim: Array<{ size: number }> }; float_val?: number[]; tensor_content?: Buffer }
        >;
      };
    const broadcast = decode(overloadRequest({ rows: 64, payload: 'broadcast' })).inputs.x;
    assert.deepEqual(
      broadcast.tensor_shape.dim.map((d) => d.size),
      [64, 512],
    );
    assert.deepEqual(broadcast.float_val, [0.25]);
    assert.equal(decode(overloadRequest({ rows: 2, payload: 'content' })).inputs.x.tensor_content!.length, 2 * 512 * 4);
  });
});

describe('CallLog', () => {
  it('times the served calls and counts the others by gRPC status', async () => {
    const log = new CallLog();
    const refusal = Object.assign(new Error('full'), { code: grpc.status.UNAVAILABLE, details: 'queue full' });
    await log.record(() => Promise.resolve());
    await log.record(() => Promise.reject(refusal));
    await log.record(() => Promise.reject(refusal));
    const summary = log.summary(2);
    assert.equal(summary.served, 1);
    assert.equal(summary.servedRps, 0.5);
    assert.equal(summary.sentRps, 1.5);
    assert.deepEqual(summary.failed, { UNAVAILABLE: 2 });
    assert.deepEqual(summary.messages, { UNAVAILABLE: 'queue full' });
    assert.ok(summary.p50Us >= 0 && summary.failedP50Us >= 0);
  });
});
