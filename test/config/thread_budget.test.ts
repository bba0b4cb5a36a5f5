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
  test('no flags: one run per CPU (at least 2), one intra-op thread each, TensorFlow inter-op one per run', () => {
    for (const [cores, runs] of [
      [1, 2],
      [2, 2],
      [16, 16],
    ]) {
      assert.deepEqual(threadBudget({ ...NO_FLAGS, cores }), {
        cores,
        concurrentRuns: runs,
        tensorflow: { intraOpParallelism: 1, interOpParallelism: runs, sessionParallelism: 0 },
        torch: { intraOp: 1, interOp: 1 },
        chainStepThreads: Math.max(2, cores - 1),
        warnings: [],
      });
    }
  });

  test('runs x intra-op threads fit the CPUs beside the JS thread when only the runs are given', () => {
    for (const [cores, runs, intra] of [
      [16, 4, 3],
      [16, 5, 3],
      [16, 2, 7],
      [2, 1, 1],
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
      '2 concurrent runs x 2 PyTorch intra-op threads exceed the 1 CPU(s) left beside the JS thread (of 2); ' +
        'OpenMP teams will wait for each other (lower --grpc_max_threads or --duoserve_torch_intra_op_threads)',
    ]);
    // One intra-op thread never forms a team: more runs than CPUs only take turns.
    assert.deepEqual(threadBudget({ ...NO_FLAGS, grpcMaxThreads: 8 }).warnings, []);
    assert.deepEqual(threadBudget({ ...NO_FLAGS, cores: 16, grpcMaxThreads: 2, torchIntraOpThreads: 7 }).warnings, []);
  });

  test('the start-up line', () => {
    assert.equal(
      describeThreadBudget(threadBudget(NO_FLAGS)),
      'Thread budget for 2 CPUs: 2 concurrent runs; TensorFlow sessions intra-op 1, inter-op 2; ' +
        'PyTorch intra-op 1, inter-op 1; chain function steps up to 2 threads per chain version',
    );
    assert.equal(
      describeThreadBudget(threadBudget({ ...NO_FLAGS, tensorflowSessionParallelism: 4 })),
      'Thread budget for 2 CPUs: 2 concurrent runs; TensorFlow sessions intra-op and inter-op 4; ' +
        'PyTorch intra-op 1, inter-op 1; chain function steps up to 2 threads per chain version',
    );
    assert.match(
      describeThreadBudget(threadBudget({ ...NO_FLAGS, tensorflowIntraOpParallelism: 3 })),
      /TensorFlow sessions intra-op 3, inter-op auto;/,
    );
  });
});
