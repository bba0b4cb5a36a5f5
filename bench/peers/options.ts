/** The peer benchmark's knobs (`npm run bench:peers -- --help`). */
import * as path from 'node:path';
import { parseCliArgs } from '../cli_args';
import { REPO_ROOT } from '../options';

export type ApiPath = 'rest' | 'grpc';
/** duoserve_unbatched: with --batching, duoserve measured again without it, in the same run. */
export type Contender = 'duoserve' | 'duoserve_unbatched' | 'torchserve' | 'echo' | 'in_process';

export interface TorchServeTuning {
  workers: number;
  /** torch intra-op threads per worker (OMP_NUM_THREADS and torch.set_num_threads). */
  threads: number;
  /** TorchServe's own batching: 1 is off. */
  batchSize: number;
  maxBatchDelayMs: number;
}

export interface PeersOptions {
  warmupS: number;
  /** Timed seconds of each point in each round. */
  durationS: number;
  /** The servers are measured in turn, this many times over, and each point's rounds pooled. */
  rounds: number;
  paths: ApiPath[];
  concurrencies: number[];
  contenders: Contender[];
  skipInstall: boolean;
  /**
   * Both servers batch: TorchServe's batchSize > 1, and duoserve's --enable_batching with
   * batchingParameters as its --batching_parameters_file (issue 11).
   */
  batching: boolean;
  /** Text-format BatchingParameters equal to TorchServe's tuning; null when not batching. */
  batchingParameters: string | null;
  torchserve: TorchServeTuning;
  /** Extra bin/duoserve flags (both duoserve contenders). */
  serverArgs: string[];
  out: string;
}

const HELP = `usage: npm run bench:peers -- [flags]
  duoserve and TorchServe 0.12 serving the same TorchScript MLP (mlp_torch, x float32 [8, 512]), one after the
  other, driven by wrk (REST) and ghz (gRPC, one connection); beside them the bare echo servers (same load
  generators, same bytes) and the in-process addon call. Tools are installed into var/peers by
  bench/peers/install.sh (pins: bench/peers/requirements.txt and bench/peers/tools.txt).
  --duration=SEC            timed part of each point in each round (whole seconds), default 5
  --warmup=SEC              discarded warm-up before it (whole seconds, 0 for none), default 2
  --rounds=N                measure every server in turn N times (A B A B: a burst of someone else's
                            load lands on both) and pool each point's rounds, default 2
  --paths=rest,grpc         APIs to measure, default both
  --concurrency=1,16,64     closed-loop connections (wrk) / concurrent calls (ghz), default 1,16,64
  --only=duoserve,duoserve_unbatched,torchserve,echo,in_process
                            contenders to run, default all (duoserve_unbatched only with --batching)
  --skip-install            use var/peers as it is (no bench/peers/install.sh)
  --torchserve-workers=N    default 2 (fair for 2 cores: workers x threads = cores)
  --torchserve-threads=N    torch threads per worker, default 1
  --batching                both servers batch with the same limits: TorchServe's batchSize (default 8
                            then) and maxBatchDelay, duoserve's --enable_batching with a
                            --batching_parameters_file of max_batch_size = batchSize x 8 rows (TF-Serving
                            counts rows, TorchServe requests) and batch_timeout_micros = maxBatchDelay;
                            duoserve is also measured unbatched (duoserve_unbatched) and the in-process
                            call batched (the server's scheduler, in this process)
  --torchserve-batch-size=N TorchServe's batchSize, default 1 (off) or 8 with --batching
  --torchserve-batch-delay-ms=MS  its maxBatchDelay when batching, default 5
  --server-arg=FLAG         extra bin/duoserve flag, repeatable
  --out=FILE                JSON result, default var/bench/peers.json`;

const PATHS: ApiPath[] = ['rest', 'grpc'];
const CONTENDERS: Contender[] = ['duoserve', 'duoserve_unbatched', 'torchserve', 'echo', 'in_process'];
/** Rows of every benchmark request (x float32 [8, 512]). */
export const ROWS_PER_REQUEST = 8;

/**
 * duoserve's BatchingParameters for TorchServe's batching: the same batch (batchSize requests of
 * ROWS_PER_REQUEST rows; TF-Serving's max_batch_size counts rows) and the same wait.
 */
export function batchingParametersFor(tuning: TorchServeTuning): string {
  return [
    `max_batch_size { value: ${tuning.batchSize * ROWS_PER_REQUEST} }`,
    `batch_timeout_micros { value: ${tuning.maxBatchDelayMs * 1000} }`,
    '',
  ].join('\n');
}

function list<T extends string>(flag: string, text: string | undefined, allowed: T[]): T[] {
  if (text === undefined) return allowed;
  const values = text.split(',').filter(Boolean);
  for (const value of values)
    if (!allowed.includes(value as T)) throw new Error(`--${flag}: ${value} is not one of ${allowed.join(', ')}`);
  return values as T[];
}

/** Whole numbers only: wrk takes whole seconds. */
function count(flag: string, text: string | undefined, fallback: number, least = 1): number {
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(value) || value < least)
    throw new Error(`--${flag} must be an integer >= ${least}, got ${text}`);
  return value;
}

export function parsePeersOptions(argv: string[]): PeersOptions {
  const { flags, repeated } = parseCliArgs(argv, HELP, { 'server-arg': undefined });
  const known = new Set([
    'duration',
    'rounds',
    'warmup',
    'paths',
    'concurrency',
    'only',
    'skip-install',
    'batching',
    'torchserve-workers',
    'torchserve-threads',
    'torchserve-batch-size',
    'torchserve-batch-delay-ms',
    'out',
  ]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}\n${HELP}`);
  const batching = flags.get('batching') === 'true';
  const contenders = list('only', flags.get('only'), CONTENDERS).filter(
    (contender) => batching || contender !== 'duoserve_unbatched',
  );
  const torchserve: TorchServeTuning = {
    workers: count('torchserve-workers', flags.get('torchserve-workers'), 2),
    threads: count('torchserve-threads', flags.get('torchserve-threads'), 1),
    batchSize: count('torchserve-batch-size', flags.get('torchserve-batch-size'), batching ? 8 : 1),
    maxBatchDelayMs: count('torchserve-batch-delay-ms', flags.get('torchserve-batch-delay-ms'), 5),
  };
  const concurrencies = (flags.get('concurrency') ?? '1,16,64')
    .split(',')
    .filter(Boolean)
    .map((text) => count('concurrency', text, 1));
  return {
    warmupS: count('warmup', flags.get('warmup'), 2, 0),
    durationS: count('duration', flags.get('duration'), 5),
    rounds: count('rounds', flags.get('rounds'), 2),
    paths: list('paths', flags.get('paths'), PATHS),
    concurrencies,
    contenders,
    skipInstall: flags.get('skip-install') === 'true',
    batching,
    batchingParameters: batching ? batchingParametersFor(torchserve) : null,
    torchserve,
    serverArgs: repeated.get('server-arg')!,
    out: path.resolve(flags.get('out') ?? path.join(REPO_ROOT, 'var/bench/peers.json')),
  };
}
