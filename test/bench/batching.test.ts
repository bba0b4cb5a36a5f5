// bench:batching's options and parameters file; the benchmark itself stays out of the test command.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchingParametersText, parseBatchingOptions } from '../../bench/batching';

describe('parseBatchingOptions', () => {
  it('loads the server with two full batches: c = 2 x max_batch_size / rows', () => {
    assert.equal(parseBatchingOptions([]).concurrency, 32);
    assert.equal(parseBatchingOptions(['--max-batch-size=8', '--rows=4']).concurrency, 4);
    assert.equal(parseBatchingOptions(['--concurrency=3']).concurrency, 3);
  });

  it('refuses a request larger than a batch and flags it does not know', () => {
    assert.throws(() => parseBatchingOptions(['--rows=32']), /--rows \(32\) must not exceed --max-batch-size \(16\)/);
    assert.throws(() => parseBatchingOptions(['--model=iris']), /iris is not one of/);
    assert.throws(() => parseBatchingOptions(['--batch-size=4']), /unknown flag --batch-size/);
  });
});

describe('batchingParametersText', () => {
  it('writes text-format BatchingParameters, num_batch_threads only when asked', () => {
    assert.equal(
      batchingParametersText(parseBatchingOptions(['--max-batch-size=8', '--batch-timeout-micros=500'])),
      'max_batch_size { value: 8 }\nbatch_timeout_micros { value: 500 }\n',
    );
    assert.match(
      batchingParametersText(parseBatchingOptions(['--num-batch-threads=2'])),
      /num_batch_threads \{ value: 2 \}/,
    );
  });
});
