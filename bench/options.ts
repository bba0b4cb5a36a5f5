/**
 * The benchmark's knobs, from flags (`--duration=3`) or environment variables
 * (`BENCH_DURATION_S=3`); a flag wins over its variable. `--quick` shrinks every duration so
 * the whole run is a ~30 s smoke test.
 */
import * as path from 'node:path';
import { parseCliArgs } from './cli_args';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export type RequestTensorEncoding = 'content' | 'fields';

export interface BenchOptions {
  quick: boolean;
  /** Per path and concurrency: discarded warm-up, then the timed part, in interleaved rounds. */
  warmupMs: number;
  durationMs: number;
  rounds: number;
  /** How long each decode-cost case runs. */
  decodeMs: number;
  /** Rows of the mid-size model's [rows, 512] input. */
  mlpRows: number;
  /** How gRPC requests (and the in-process run) carry the input tensor. */
  requestTensor: RequestTensorEncoding;
  /** Model names to measure (default: the four examples). */
  models: string[];
  modelConfigFile: string;
  serverStartTimeoutMs: number;
  /** Extra flags for bin/duoserve. */
  serverArgs: string[];
  out: string;
}

const HELP = `usage: node dist/bench/run.js [flags]   (each flag also reads from the variable shown)
  --quick                 ~30 s smoke run (BENCH_QUICK=1)
  --duration=SEC          timed part of each path at each concurrency, default 3 (BENCH_DURATION_S)
  --warmup=SEC            discarded warm-up before it, default 1 (BENCH_WARMUP_S)
  --rounds=N              paths compared are timed interleaved, the duration split over
                          N rounds, default 3 (BENCH_ROUNDS)
  --decode-duration=SEC   each decode-cost case, default 1 (BENCH_DECODE_S)
  --mlp-rows=N            rows of the mlp input [N, 512], default 8 (BENCH_MLP_ROWS)
  --request-tensor=content|fields
                          gRPC input as tensor_content or float_val, default content (BENCH_REQUEST_TENSOR)
  --models=a,b            models to measure, default all four (BENCH_MODELS)
  --model-config=FILE     default var/models/models.config (BENCH_MODEL_CONFIG)
  --server-timeout=SEC    wait for every model AVAILABLE, default 180 (BENCH_SERVER_TIMEOUT_S)
  --server-arg=FLAG       extra bin/duoserve flag, repeatable (BENCH_SERVER_ARGS, space-separated)
  --out=FILE              JSON result, default var/bench/last.json (BENCH_OUT)`;

export const DEFAULT_MODELS = ['half_plus_two', 'half_plus_two_torch', 'mlp_tf', 'mlp_torch'];

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { flags, repeated } = parseCliArgs(argv, HELP, { 'server-arg': env.BENCH_SERVER_ARGS });
  const serverArgs = repeated.get('server-arg')!;
  const read = (flag: string, variable: string): string | undefined => flags.get(flag) ?? env[variable];
  const quick = ['1', 'true'].includes(read('quick', 'BENCH_QUICK') ?? '');
  const seconds = (flag: string, variable: string, full: number, short: number): number => {
    const text = read(flag, variable);
    const value = text === undefined ? (quick ? short : full) : Number(text);
    if (!(value >= 0)) throw new Error(`--${flag} must be a number of seconds, got ${text}`);
    return Math.round(value * 1000);
  };
  const mlpRows = Number(read('mlp-rows', 'BENCH_MLP_ROWS') ?? 8);
  if (!Number.isInteger(mlpRows) || mlpRows < 1) throw new Error(`--mlp-rows must be a positive integer`);
  const rounds = Number(read('rounds', 'BENCH_ROUNDS') ?? (quick ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer`);
  const requestTensor = read('request-tensor', 'BENCH_REQUEST_TENSOR') ?? 'content';
  if (requestTensor !== 'content' && requestTensor !== 'fields') {
    throw new Error(`--request-tensor must be content or fields, got ${requestTensor}`);
  }
  const models = read('models', 'BENCH_MODELS');
  const known = new Set([
    'quick',
    'duration',
    'warmup',
    'rounds',
    'decode-duration',
    'mlp-rows',
    'request-tensor',
    'models',
    'model-config',
    'server-timeout',
    'out',
  ]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}\n${HELP}`);
  return {
    quick,
    warmupMs: seconds('warmup', 'BENCH_WARMUP_S', 1, 0.15),
    durationMs: seconds('duration', 'BENCH_DURATION_S', 3, 0.35),
    rounds,
    decodeMs: seconds('decode-duration', 'BENCH_DECODE_S', 1, 0.2),
    mlpRows,
    requestTensor,
    models: models ? models.split(',').filter(Boolean) : DEFAULT_MODELS,
    modelConfigFile: path.resolve(
      read('model-config', 'BENCH_MODEL_CONFIG') ?? path.join(REPO_ROOT, 'var/models/models.config'),
    ),
    serverStartTimeoutMs: seconds('server-timeout', 'BENCH_SERVER_TIMEOUT_S', 180, 180),
    serverArgs,
    out: path.resolve(read('out', 'BENCH_OUT') ?? path.join(REPO_ROOT, 'var/bench/last.json')),
  };
}
