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
    assert.equal(parseOverloadOptions(['--factor=3', '--rows=8']).factor, 3);
    assert.throws(() => parseOverloadOptions(['--payload=content']), /unknown flag --payload/);
    assert.throws(() => parseOverloadOptions(['--rps=10']), /unknown flag --rps/);
    assert.throws(() => parseOverloadOptions(['--burst=0']), /--burst must be an integer >= 1/);
  });
});

describe('overloadRequest', () => {
  it('sends one float_val that fills [rows, 512]: a request of a few bytes whatever the rows', () => {
    const decode = (bytes: Buffer) =>
      Protos.PredictRequest.toObject(Protos.PredictRequest.decode(bytes), { longs: Number }) as {
        inputs: Record<
          string,
          { tensor_shape: { dim: Array<{ size: number }> }; float_val?: number[]; tensor_content?: Buffer }
        >;
      };
    const request = overloadRequest(64);
    const x = decode(request).inputs.x;
    assert.deepEqual(
      x.tensor_shape.dim.map((d) => d.size),
      [64, 512],
    );
    assert.deepEqual(x.float_val, [0.25]);
    assert.equal(x.tensor_content?.length ?? 0, 0);
    assert.ok(request.length < 64, `${request.length} bytes`);
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
    assert.equal(summary.lateServedRps, 0, 'served within the first second of two');
    assert.equal(summary.sentRps, 1.5);
    assert.deepEqual(summary.failed, { UNAVAILABLE: 2 });
    assert.deepEqual(summary.messages, { UNAVAILABLE: 'queue full' });
    assert.ok(summary.p50Us >= 0 && summary.failedP50Us >= 0);
  });
});
