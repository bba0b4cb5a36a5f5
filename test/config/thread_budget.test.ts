import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeThreadBudget, threadBudget, type ThreadBudgetInputs } from '../../src/config/thread_budget';

const NO_FLAGS: ThreadBudgetInputs = {
  cores: 2,
  tensorflowIntraOpParallelism: 0,
  tensorflowInterOpParallelism: 0,
  tensorflowSessionParallelism: 0,
  torchIntraOpThreads: 0,
  torchInterOpThreads: 0,
};

describe('threadBudget', () => {
  test('no flags: one run per CPU, one intra-op thread each, TensorFlow inter-op one per run', () => {
    for (const cores of [1, 2, 16]) {
      assert.deepEqual(threadBudget({ ...NO_FLAGS, cores }), {
        cores,
        concurrentRuns: cores,
        tensorflow: { intraOpParallelism: 1, interOpParallelism: cores, sessionParallelism: 0 },
        torch: { intraOp: 1, interOp: 1 },
        warnings: [],
      });
    }
  });

  test('runs x intra-op threads fit the cores when only the runs are given', () => {
    for (const [cores, runs, intra] of [
      [16, 4, 4],
      [16, 5, 3],
      [2, 1, 2],
      [2, 8, 1],
    ]) {
      const budget = threadBudget({ ...NO_FLAGS, cores, grpcMaxThreads: runs });
      assert.equal(budget.concurrentRuns, runs);
      assert.equal(budget.torch.intraOp, intra);
      assert.equal(budget.tensorflow.intraOpParallelism, intra);
      assert.equal(budget.tensorflow.interOpParallelism, runs);
    }
  });

  test('UV_THREADPOOL_SIZE wins over --grpc_max_threads; libuv caps both at 1024', () => {
    assert.equal(threadBudget({ ...NO_FLAGS, uvThreadpoolSize: '3', grpcMaxThreads: 6 }).concurrentRuns, 3);
    assert.equal(threadBudget({ ...NO_FLAGS, uvThreadpoolSize: 'lots', grpcMaxThreads: 6 }).concurrentRuns, 6);
    assert.equal(threadBudget({ ...NO_FLAGS, grpcMaxThreads: 5000 }).concurrentRuns, 1024);
    assert.equal(threadBudget({ ...NO_FLAGS, grpcMaxThreads: 0 }).concurrentRuns, 2);
  });

  test("any TensorFlow thread flag keeps TF-Serving's meaning for all three", () => {
    const given = threadBudget({ ...NO_FLAGS, tensorflowIntraOpParallelism: 3 });
    assert.deepEqual(given.tensorflow, { intraOpParallelism: 3, interOpParallelism: 0, sessionParallelism: 0 });
    const session = threadBudget({ ...NO_FLAGS, tensorflowSessionParallelism: 4 });
    assert.deepEqual(session.tensorflow, { intraOpParallelism: 0, interOpParallelism: 0, sessionParallelism: 4 });
    // The TensorFlow flags are TensorFlow's only: libtorch keeps the budget.
    assert.deepEqual(given.torch, { intraOp: 1, interOp: 1 });
  });

  test('the torch flags win, and a budget they oversubscribe is warned about', () => {
    const budget = threadBudget({ ...NO_FLAGS, torchIntraOpThreads: 2, torchInterOpThreads: 3 });
    assert.deepEqual(budget.torch, { intraOp: 2, interOp: 3 });
    assert.deepEqual(budget.tensorflow, { intraOpParallelism: 1, interOpParallelism: 2, sessionParallelism: 0 });
    assert.deepEqual(budget.warnings, [
      '2 concurrent runs x 2 PyTorch intra-op threads exceed the 2 CPUs; runs will compete for them ' +
        '(lower --grpc_max_threads or --duoserve_torch_intra_op_threads)',
    ]);
    assert.deepEqual(threadBudget({ ...NO_FLAGS, grpcMaxThreads: 1, torchIntraOpThreads: 2 }).warnings, []);
  });

  test('the start-up line', () => {
    assert.equal(
      describeThreadBudget(threadBudget(NO_FLAGS)),
      'Thread budget for 2 CPUs: 2 concurrent runs; TensorFlow sessions intra-op 1, inter-op 2; ' +
        'PyTorch intra-op 1, inter-op 1',
    );
    assert.equal(
      describeThreadBudget(threadBudget({ ...NO_FLAGS, tensorflowSessionParallelism: 4 })),
      'Thread budget for 2 CPUs: 2 concurrent runs; TensorFlow sessions intra-op and inter-op 4; ' +
        'PyTorch intra-op 1, inter-op 1',
    );
    assert.match(
      describeThreadBudget(threadBudget({ ...NO_FLAGS, tensorflowIntraOpParallelism: 3 })),
      /TensorFlow sessions intra-op 3, inter-op auto;/,
    );
  });
});
