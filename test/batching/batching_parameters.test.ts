import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  type BatchingParameters,
  describeBatchingParameters,
  queueOptions,
  readBatchingParametersFile,
  readBatchingParametersFileAsync,
  schedulerOptions,
  SERVER_DEFAULT_BATCHING_PARAMETERS,
} from '../../src/batching/batching_parameters';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-batching-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
const file = (text: string) => {
  const name = path.join(dir, `params${files++}.pbtxt`);
  fs.writeFileSync(name, text);
  return name;
};
const params = (text: string) => readBatchingParametersFile(file(text));
const invalid = (message: string) => (error: Error & { code?: string }) =>
  error.code === 'INVALID_ARGUMENT' && error.message === message;

describe('BatchingParameters', () => {
  test('every field reads from text format (wrappers as `field { value: N }`)', () => {
    assert.deepEqual(
      params(`
        max_batch_size { value: 128 }
        batch_timeout_micros { value: 5000 }
        max_enqueued_batches { value: 3 }
        num_batch_threads { value: 6 }
        thread_pool_name { value: "pool" }
        allowed_batch_sizes: 32
        allowed_batch_sizes: [64, 128]
        pad_variable_length_inputs: true
        enable_large_batch_splitting { value: true }
        max_execution_batch_size { value: 64 }
      `),
      {
        maxBatchSize: 128,
        batchTimeoutMicros: 5000,
        maxEnqueuedBatches: 3,
        numBatchThreads: 6,
        threadPoolName: 'pool',
        allowedBatchSizes: [32, 64, 128],
        padVariableLengthInputs: true,
        enableLargeBatchSplitting: true,
        maxExecutionBatchSize: 64,
      } satisfies BatchingParameters,
    );
  });

  test("unset fields take TF's defaults", () => {
    const empty = params('');
    assert.deepEqual(queueOptions(empty).queue, {
      maxBatchSize: 1000,
      batchTimeoutMicros: 0,
      maxEnqueuedBatches: 10,
      enableLargeBatchSplitting: false,
      maxExecutionBatchSize: 1000,
    });
    assert.deepEqual(queueOptions(empty).merge, { allowedBatchSizes: [], padVariableLengthInputs: false });
    assert.deepEqual(schedulerOptions(empty, 7), { numBatchThreads: 7, threadPoolName: 'batch_threads' });
    assert.deepEqual(schedulerOptions(SERVER_DEFAULT_BATCHING_PARAMETERS, 3), {
      numBatchThreads: 3,
      threadPoolName: 'model_server_batch_threads',
    });
    // Splitting without max_execution_batch_size runs batches of max_batch_size.
    const splitting = queueOptions(params('max_batch_size { value: 64 } enable_large_batch_splitting { value: true }'));
    assert.equal(splitting.queue.maxExecutionBatchSize, 64);
    // Without splitting the execution limit IS max_batch_size, whatever max_execution_batch_size says.
    assert.equal(
      queueOptions(params('max_batch_size { value: 8 } max_execution_batch_size { value: 2 }')).queue
        .maxExecutionBatchSize,
      8,
    );
    // An explicit value is honoured, even against the thread budget.
    assert.equal(schedulerOptions(params('num_batch_threads { value: 1 }'), 16).numBatchThreads, 1);
  });

  test('num_batch_threads is checked at server start', () => {
    assert.throws(
      () => schedulerOptions(params('num_batch_threads { value: 0 }'), 4),
      invalid('num_batch_threads must be positive; was 0'),
    );
    assert.throws(
      () => schedulerOptions(params('num_batch_threads { value: -3 }'), 4),
      invalid('num_batch_threads must be positive; was -3'),
    );
  });

  test("each version's load checks the rest, with TF's messages", () => {
    const check = (text: string) => () => queueOptions(params(text));
    assert.throws(
      check('max_batch_size { value: 64 } allowed_batch_sizes: [8, 32]'),
      invalid('Last entry in allowed_batch_sizes must match max_batch_size; last entry was 32; expected 64'),
    );
    assert.throws(
      check('allowed_batch_sizes: [8, 32]'),
      invalid('Last entry in allowed_batch_sizes must match max_batch_size; last entry was 32; expected 1000'),
    );
    assert.throws(check('max_batch_size { value: 0 }'), invalid('input_batch_size_limit must be positive; was 0'));
    assert.throws(
      check('batch_timeout_micros { value: -5 }'),
      invalid('batch_timeout_micros must be non-negative; was -5'),
    );
    assert.throws(
      check('max_enqueued_batches { value: 0 } enable_large_batch_splitting { value: true }'),
      invalid('max_enqueued_batches must be positive; was 0'),
    );
    assert.throws(
      check(
        'max_batch_size { value: 8 } enable_large_batch_splitting { value: true } max_execution_batch_size { value: 16 }',
      ),
      invalid(
        'When enable_large_batch_splitting is true, input_batch_size_limit must be greater than or equal to ' +
          'max_execution_batch_size.',
      ),
    );
    // Without splitting, 0 enqueued batches quietly becomes 1 (AddQueue).
    assert.equal(queueOptions(params('max_enqueued_batches { value: 0 }')).queue.maxEnqueuedBatches, 1);
    assert.doesNotThrow(check('max_batch_size { value: 32 } allowed_batch_sizes: [8, 32]'));
  });

  test("a version's file reports parse errors without quoting it", async () => {
    const secret = file('max_batch_size { value: hunter2 }');
    await assert.rejects(readBatchingParametersFileAsync(secret), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.match(
        error.message,
        /^Invalid protobuf file: '.*': Error parsing text-format tensorflow.serving.BatchingParameters: 1:/,
      );
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
    await assert.rejects(readBatchingParametersFileAsync(path.join(dir, 'absent')), { code: 'NOT_FOUND' });
  });

  test('the start-up line states the parameters in effect', () => {
    const given = params(
      'max_batch_size { value: 32 } batch_timeout_micros { value: 1000 } allowed_batch_sizes: [8, 32]',
    );
    assert.equal(
      describeBatchingParameters(given, schedulerOptions(given, 4), false, 'TensorFlow and PyTorch'),
      'Batching TensorFlow and PyTorch model versions: max_batch_size 32, batch_timeout_micros 1000, ' +
        'max_enqueued_batches 10, num_batch_threads 4, thread_pool_name batch_threads, allowed_batch_sizes [8, 32], ' +
        'pad_variable_length_inputs false, enable_large_batch_splitting false',
    );
    assert.equal(
      describeBatchingParameters(given, schedulerOptions(given, 4), true, 'TensorFlow'),
      'Batching TensorFlow model versions by their own batching_params.pbtxt (a version without one is not ' +
        'batched): num_batch_threads 4, thread_pool_name batch_threads',
    );
  });
});
