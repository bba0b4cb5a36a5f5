/**
 * The thread budget: how many runs execute at once and how many threads each framework gives
 * one op, derived in this one place from the flags and the core count, so that concurrent runs
 * x intra-op threads fit the cores. Oversubscribing them is what OMP_NUM_THREADS=1 used to fix by
 * hand: 8 runs each with an OpenMP team of 2 on 2 cores spent their time spinning and switching.
 *
 * - Concurrent runs: the size of libuv's pool, where every run executes (never on the JS thread).
 *   UV_THREADPOOL_SIZE wins when set, then --grpc_max_threads when given (in TF-Serving its gRPC
 *   threads each carry one request's run), else one run per CPU (at least 2).
 * - TensorFlow: --tensorflow_intra_op_parallelism / --tensorflow_inter_op_parallelism /
 *   --tensorflow_session_parallelism keep TF-Serving's meaning when any is set; left at 0 ("the
 *   server picks"), duoserve picks from the budget instead of TensorFlow's one thread per core.
 *   The session's inter-op pool is where a TensorFlow run's ops execute, so it gets one thread per
 *   concurrent run; intra-op gets the CPUs left per run (one CPU stays with the JS thread). (A --platform_config_file's
 *   session_config is the user's own, applied as written.)
 * - PyTorch: --duoserve_torch_intra_op_threads / --duoserve_torch_inter_op_threads (libtorch's
 *   at::set_num_threads / at::set_num_interop_threads, process-wide); 0 takes the budget's. They are
 *   flags of their own because libtorch's pools are not TensorFlow's: the TF flags keep
 *   TF-Serving's meaning, and a --platform_config_file leaves PyTorch's settings alone.
 *
 * - Chain function steps (src/platforms/chain/step_pool.ts): each chain version with function
 *   steps has its own pool of worker threads, of up to one per CPU beside the JS thread, at least
 *   2, so that one slow call (until its time limit stops it) does not hold up the others.
 *
 * The defaults were chosen with `npm run bench:threads` (README, "Threads").
 */

export interface ThreadBudgetInputs {
  /** os.availableParallelism(): the CPUs this process may run on. */
  cores: number;
  /** process.env.UV_THREADPOOL_SIZE, when set. */
  uvThreadpoolSize?: string;
  /** --grpc_max_threads when given on the command line (its default is TF-Serving's 4 per CPU). */
  grpcMaxThreads?: number;
  tensorflowIntraOpParallelism: number;
  tensorflowInterOpParallelism: number;
  tensorflowSessionParallelism: number;
  torchIntraOpThreads: number;
  torchInterOpThreads: number;
}

export interface FrameworkThreads {
  intraOp: number;
  interOp: number;
}

export interface ThreadBudget {
  cores: number;
  /** Runs that may execute at once: libuv's pool size. */
  concurrentRuns: number;
  /**
   * The TensorFlow session flags' values: the flags as given when any is set (TF-Serving's
   * session_config.ts then applies its rules), else the budget's intra/inter-op threads.
   */
  tensorflow: { intraOpParallelism: number; interOpParallelism: number; sessionParallelism: number };
  torch: FrameworkThreads;
  /** Worker threads of one chain version's function-step pool, at most. */
  chainStepThreads: number;
  /** Said once at start-up, as a WARNING: flags that, together, oversubscribe the cores. */
  warnings: string[];
}

/** libuv takes at most this many threads (uv_threadpool's MAX_THREADPOOL_SIZE). */
export const MAX_CONCURRENT_RUNS = 1024;

/**
 * Runs at once with no flag: one per CPU, and at least 2, so that a load (which also takes a pool
 * thread) or a file-system call never stops inference altogether on a 1-CPU machine.
 */
function defaultConcurrentRuns(cores: number): number {
  return Math.max(2, cores);
}

/**
 * Intra-op threads for each of `runs` runs: the CPUs left once the JS thread (the transports) has
 * one, shared out, at least 1. An OpenMP team waits at every barrier for all its threads, so a
 * team that cannot run at once stalls its run: on 2 CPUs with other work about, 1 run x 2 threads
 * served 17 req/s where 1 thread served 250 (bench:threads).
 */
function intraOpPerRun(cores: number, runs: number): number {
  return Math.max(1, Math.floor(computeCores(cores) / runs));
}

/** CPUs for the frameworks: all but the JS thread's, at least 1. */
function computeCores(cores: number): number {
  return Math.max(1, cores - 1);
}

function concurrentRuns(inputs: ThreadBudgetInputs): number {
  const fromEnv = Number(inputs.uvThreadpoolSize);
  if (inputs.uvThreadpoolSize !== undefined && Number.isInteger(fromEnv) && fromEnv > 0) {
    // libuv clamps it the same way.
    return Math.min(fromEnv, MAX_CONCURRENT_RUNS);
  }
  if (inputs.grpcMaxThreads !== undefined && inputs.grpcMaxThreads > 0) {
    return Math.min(inputs.grpcMaxThreads, MAX_CONCURRENT_RUNS);
  }
  return defaultConcurrentRuns(inputs.cores);
}

export function threadBudget(inputs: ThreadBudgetInputs): ThreadBudget {
  const cores = Math.max(1, inputs.cores);
  const runs = concurrentRuns(inputs);
  const intraOp = intraOpPerRun(cores, runs);
  const tfGiven =
    inputs.tensorflowIntraOpParallelism > 0 ||
    inputs.tensorflowInterOpParallelism > 0 ||
    inputs.tensorflowSessionParallelism > 0;
  const tensorflow = tfGiven
    ? {
        intraOpParallelism: inputs.tensorflowIntraOpParallelism,
        interOpParallelism: inputs.tensorflowInterOpParallelism,
        sessionParallelism: inputs.tensorflowSessionParallelism,
      }
    : { intraOpParallelism: intraOp, interOpParallelism: runs, sessionParallelism: 0 };
  const torch = {
    intraOp: inputs.torchIntraOpThreads > 0 ? inputs.torchIntraOpThreads : intraOp,
    interOp: inputs.torchInterOpThreads > 0 ? inputs.torchInterOpThreads : 1,
  };
  const warnings =
    torch.intraOp > 1 && runs * torch.intraOp > computeCores(cores)
      ? [
          `${runs} concurrent runs x ${torch.intraOp} PyTorch intra-op threads exceed the ${computeCores(cores)} ` +
            `CPU(s) left beside the JS thread (of ${cores}); OpenMP teams will wait for each other (lower ` +
            '--grpc_max_threads or --duoserve_torch_intra_op_threads)',
        ]
      : [];
  const chainStepThreads = Math.max(2, computeCores(cores));
  return { cores, concurrentRuns: runs, tensorflow, torch, chainStepThreads, warnings };
}

/** The start-up log line stating the budget. */
export function describeThreadBudget(budget: ThreadBudget): string {
  const tf = budget.tensorflow;
  const tfThreads =
    tf.intraOpParallelism > 0 || tf.interOpParallelism > 0
      ? `intra-op ${tf.intraOpParallelism || 'auto'}, inter-op ${tf.interOpParallelism || 'auto'}`
      : `intra-op and inter-op ${tf.sessionParallelism || 'auto'}`;
  return (
    `Thread budget for ${budget.cores} CPUs: ${budget.concurrentRuns} concurrent runs; ` +
    `TensorFlow sessions ${tfThreads}; PyTorch intra-op ${budget.torch.intraOp}, inter-op ${budget.torch.interOp}; ` +
    `chain function steps up to ${budget.chainStepThreads} threads per chain version`
  );
}
