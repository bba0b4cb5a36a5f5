/**
 * `npm run bench:batching`: what batching gains. The same model served by bin/duoserve unbatched
 * and with --enable_batching, one server at a time in alternating rounds (A B, A B), each driven
 * by c = 2 x max_batch_size / rows concurrent gRPC calls of `rows` rows (two full batches in
 * flight) from a raw grpc-js client in this process. Prints req/s with p50, p95 and p99 beside
 * it, and the batched over unbatched ratios; writes the run to var/bench/batching.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCliArgs } from './cli_args';
import { startDuoserve } from './duoserve_process';
import { PREDICT_PATH, RawGrpcClient } from './grpc_client';
import { measureInterleaved } from './load_loop';
import { benchModels, writeModelConfig } from './models';
import { REPO_ROOT } from './options';
import { buildPayload, predictResponseOutput } from './payloads';
import { loadAverages, ratio, ratioTable, table } from './report';
import { assertClose } from './sanity';
import { type LatencySummary, round } from './stats';

const HELP = `usage: npm run bench:batching -- [flags]
  bin/duoserve unbatched against bin/duoserve --enable_batching on one model, one server at a time,
  at c = 2 x max_batch_size / rows concurrent gRPC calls (one connection, this process's grpc-js).
  --model=NAME                 mlp_torch (default), mlp_tf or mlp_pt2 (x float32 [rows, 512])
  --rows=N                     rows per request, default 1
  --max-batch-size=N           max_batch_size (rows), default 16
  --batch-timeout-micros=US    batch_timeout_micros, default 1000
  --num-batch-threads=N        num_batch_threads, default: TF-Serving's (the CPUs)
  --concurrency=N              default 2 x max_batch_size / rows
  --duration=SEC               timed seconds per server per round, default 5
  --warmup=SEC                 discarded warm-up per server start, default 2
  --rounds=N                   A B rounds, default 2
  --out=FILE                   JSON result, default var/bench/batching.json`;

const WORK_DIR = path.join(REPO_ROOT, 'var/bench/batching');
const MODELS = ['mlp_torch', 'mlp_tf', 'mlp_pt2'];
/** The exported examples (scripts/export_models.py). */
const MODELS_CONFIG = path.join(REPO_ROOT, 'var/models/models.config');

type Mode = 'unbatched' | 'batched';

interface BatchingOptions {
  model: string;
  rows: number;
  maxBatchSize: number;
  batchTimeoutMicros: number;
  numBatchThreads: number | null;
  concurrency: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  out: string;
}

function count(flags: Map<string, string>, name: string, fallback: number, least = 1): number {
  const text = flags.get(name);
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(value) || value < least)
    throw new Error(`--${name} must be an integer >= ${least}, got ${text}`);
  return value;
}

export function parseBatchingOptions(argv: string[]): BatchingOptions {
  const { flags } = parseCliArgs(argv, HELP, {});
  const known = [
    'model',
    'rows',
    'max-batch-size',
    'batch-timeout-micros',
    'num-batch-threads',
    'concurrency',
    'duration',
    'warmup',
    'rounds',
    'out',
  ];
  for (const name of flags.keys()) if (!known.includes(name)) throw new Error(`unknown flag --${name}\n${HELP}`);
  const model = flags.get('model') ?? 'mlp_torch';
  if (!MODELS.includes(model)) throw new Error(`--model: ${model} is not one of ${MODELS.join(', ')}`);
  const rows = count(flags, 'rows', 1);
  const maxBatchSize = count(flags, 'max-batch-size', 16);
  if (rows > maxBatchSize) throw new Error(`--rows (${rows}) must not exceed --max-batch-size (${maxBatchSize})`);
  return {
    model,
    rows,
    maxBatchSize,
    batchTimeoutMicros: count(flags, 'batch-timeout-micros', 1000, 0),
    numBatchThreads: flags.has('num-batch-threads') ? count(flags, 'num-batch-threads', 1) : null,
    concurrency: count(flags, 'concurrency', Math.max(1, Math.floor((2 * maxBatchSize) / rows))),
    durationS: count(flags, 'duration', 5),
    warmupS: count(flags, 'warmup', 2, 0),
    rounds: count(flags, 'rounds', 2),
    out: path.resolve(flags.get('out') ?? path.join(REPO_ROOT, 'var/bench/batching.json')),
  };
}

/** The --batching_parameters_file of the batched server. */
export function batchingParametersText(options: BatchingOptions): string {
  return [
    `max_batch_size { value: ${options.maxBatchSize} }`,
    `batch_timeout_micros { value: ${options.batchTimeoutMicros} }`,
    ...(options.numBatchThreads === null ? [] : [`num_batch_threads { value: ${options.numBatchThreads} }`]),
    '',
  ].join('\n');
}

interface RoundResult {
  mode: Mode;
  round: number;
  loadBefore: string;
  result: LatencySummary;
}

/** Requests and time add up over the rounds; the percentiles are the rounds' mean. */
function pooled(results: LatencySummary[]): LatencySummary {
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const seconds = results.reduce((sum, r) => sum + r.requests / r.throughput, 0);
  const mean = (pick: (r: LatencySummary) => number) => results.reduce((sum, r) => sum + pick(r), 0) / results.length;
  return {
    requests,
    throughput: requests / seconds,
    meanUs: results.reduce((sum, r) => sum + r.meanUs * r.requests, 0) / requests,
    p50Us: mean((r) => r.p50Us),
    p95Us: mean((r) => r.p95Us ?? NaN),
    p99Us: mean((r) => r.p99Us),
  };
}

async function main(): Promise<void> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const options = parseBatchingOptions(process.argv.slice(2));
  fs.mkdirSync(WORK_DIR, { recursive: true });
  const configFile = writeModelConfig(MODELS_CONFIG, [options.model], path.join(WORK_DIR, 'models.config'));
  const [model] = benchModels(configFile, [options.model], options.rows);
  const payload = buildPayload(model, 'content');
  const parametersFile = path.join(WORK_DIR, 'batching_parameters.pbtxt');
  fs.writeFileSync(parametersFile, batchingParametersText(options));
  const args: Record<Mode, string[]> = {
    unbatched: [],
    batched: ['--enable_batching=true', `--batching_parameters_file=${parametersFile}`],
  };
  console.log(
    `[batching] ${options.model} x float32 [${options.rows}, 512], c=${options.concurrency}, ` +
      `${batchingParametersText(options).trim().replace(/\n/g, ', ')}; ${options.rounds} round(s) of ` +
      `${options.durationS} s per server; ${os.cpus().length} CPUs, load ${loadAverages()}`,
  );

  const results: RoundResult[] = [];
  let reference: ReturnType<typeof predictResponseOutput> | undefined;
  for (let round_ = 1; round_ <= options.rounds; round_++) {
    for (const mode of ['unbatched', 'batched'] as const) {
      const loadBefore = loadAverages();
      const server = await startDuoserve(configFile, [options.model], args[mode], 180_000, WORK_DIR);
      const client = new RawGrpcClient(server.grpcTarget);
      try {
        const answer = predictResponseOutput(
          await client.call(PREDICT_PATH, payload.predictRequest, 30_000),
          model.outputAlias,
        );
        if (reference) assertClose(`${mode} answer vs unbatched`, answer, reference);
        reference ??= answer;
        const call = () => client.call(PREDICT_PATH, payload.predictRequest);
        const [outcome] = await measureInterleaved([call], {
          concurrency: options.concurrency,
          warmupMs: options.warmupS * 1000,
          durationMs: options.durationS * 1000,
          rounds: 1,
        });
        if (outcome instanceof Error) throw outcome;
        results.push({ mode, round: round_, loadBefore, result: outcome });
        console.log(
          `[batching] round ${round_} ${mode.padEnd(9)} ${round(outcome.throughput)} req/s  p50 ${round(outcome.p50Us)} µs  ` +
            `p95 ${round(outcome.p95Us!)} µs  p99 ${round(outcome.p99Us)} µs  (load before ${loadBefore})`,
        );
      } finally {
        client.close();
        await server.stop();
      }
    }
  }

  const summary = Object.fromEntries(
    (['unbatched', 'batched'] as const).map((mode) => [
      mode,
      pooled(results.filter((r) => r.mode === mode).map((r) => r.result)),
    ]),
  ) as Record<Mode, LatencySummary>;
  const rows = (['unbatched', 'batched'] as const).map((mode) => {
    const r = summary[mode];
    return [
      mode,
      String(options.concurrency),
      ...[r.throughput, r.p50Us, r.p95Us!, r.p99Us].map((v) => String(round(v))),
      String(r.requests),
    ];
  });
  console.log(`\n${table(['duoserve', 'c', 'req/s', 'p50 µs', 'p95 µs', 'p99 µs', 'requests'], rows, 'lrrrrrr')}`);
  const ratios = [
    ratio('req/s batched / unbatched', options.model, summary.batched.throughput, summary.unbatched.throughput, null),
    ratio('p95 batched / unbatched', options.model, summary.batched.p95Us, summary.unbatched.p95Us, null),
  ];
  console.log(`\n${ratioTable(ratios)}\nload average at the end: ${loadAverages()}`);
  const result = {
    date: new Date().toISOString(),
    host: { node: process.version, cpus: os.cpus().length, loadAtEnd: loadAverages() },
    options,
    batchingParameters: batchingParametersText(options),
    rounds: results,
    summary,
    ratios,
  };
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`[batching] written to ${path.relative(process.cwd(), options.out) || options.out}`);
}

if (require.main === module) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  main().catch((error) => {
    console.error(`[batching] ${(error as Error).stack ?? error}`);
    process.exit(1);
  });
}
