/**
 * `npm run bench:threads`: how the thread budget (src/config/thread_budget.ts) should be set.
 * Sweeps concurrent runs (libuv's pool, --grpc_max_threads) x intra-op threads (PyTorch's
 * --duoserve_torch_intra_op_threads and TensorFlow's --tensorflow_intra_op_parallelism alike, with
 * TensorFlow's inter-op pool at --tf-inter) for mlp_torch and mlp_tf (x float32 [8, 512]) over
 * gRPC at concurrency 1 and 16, and prints req/s, p50, p99 and the server's CPU time per request
 * (user + system, all its threads: what oversubscription wastes, and less swayed by other work
 * on a shared machine than the wall-clock figures). One bin/duoserve
 * at a time; the settings are visited in turn, round after round (A B C, A B C, ...), so noise on
 * a shared machine lands on all of them alike, and each figure is the median over the rounds.
 * `--baseline` adds the budget's defaults (no thread flag) and the settings before the budget
 * existed (pool 4 per CPU, libtorch's and TensorFlow's own threads: one per CPU each).
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
import { cpuSeconds } from './process_cpu';
import { buildPayload, predictResponseOutput } from './payloads';
import { assertClose } from './sanity';
import { type LatencySummary, round } from './stats';

const HELP = `usage: npm run bench:threads -- [flags]
  --pools=1,2,4,8      concurrent runs (--grpc_max_threads), default 1,2,4,8
  --intra=1,2          intra-op threads of both frameworks, default 1,2
  --tf-inter=pool      TensorFlow inter-op threads: numbers, or "pool" for the pool size; default pool
  --concurrency=1,16   client concurrency, default 1,16
  --models=mlp_torch,mlp_tf
  --rounds=N           each setting is visited N times, default 2
  --duration=SEC       timed part per model, concurrency and round, default 1.5
  --warmup=SEC         discarded warm-up before it, default 0.5
  --baseline           also the defaults (no thread flag) and the pre-budget settings (pool 4 per CPU,
                       the frameworks' own thread counts)
  --out=FILE           JSON result, default var/bench/threads.json`;

interface Setting {
  label: string;
  pool: number;
  intra: number;
  tfInter: number;
  args: string[];
}

interface Row {
  setting: string;
  model: string;
  concurrency: number;
  rounds: LatencySummary[];
  cpuUsPerRequest: number[];
  loads: number[];
}

function log(line: string): void {
  console.log(`[bench:threads] ${line}`);
}

function numbers(text: string, flag: string): number[] {
  const values = text.split(',').map(Number);
  if (values.some((value) => !Number.isInteger(value) || value < 1)) throw new Error(`--${flag}: ${text}`);
  return values;
}

function settings(pools: number[], intras: number[], tfInters: string[], baseline: boolean): Setting[] {
  const out: Setting[] = [];
  for (const pool of pools) {
    for (const intra of intras) {
      for (const inter of tfInters) {
        const tfInter = inter === 'pool' ? pool : Number(inter);
        const label = `pool ${pool} x intra ${intra}, tf inter ${tfInter}`;
        if (out.some((setting) => setting.label === label)) continue;
        out.push({
          label,
          pool,
          intra,
          tfInter,
          args: [
            `--grpc_max_threads=${pool}`,
            `--duoserve_torch_intra_op_threads=${intra}`,
            `--tensorflow_intra_op_parallelism=${intra}`,
            `--tensorflow_inter_op_parallelism=${tfInter}`,
          ],
        });
      }
    }
  }
  if (baseline) {
    out.push({ label: 'default budget (no thread flags)', pool: 0, intra: 0, tfInter: 0, args: [] });
    // Before the budget: the pool was 4 per CPU (--grpc_max_threads' default) and both frameworks
    // picked one thread per CPU for each pool; libtorch's inter-op pool too.
    const cpus = os.availableParallelism();
    out.push({
      label: `before: pool ${4 * cpus}, frameworks' own (${cpus})`,
      pool: 4 * cpus,
      intra: cpus,
      tfInter: cpus,
      args: [
        `--grpc_max_threads=${4 * cpus}`,
        `--duoserve_torch_intra_op_threads=${cpus}`,
        `--duoserve_torch_inter_op_threads=${cpus}`,
        `--tensorflow_intra_op_parallelism=${cpus}`,
        `--tensorflow_inter_op_parallelism=${cpus}`,
      ],
    });
  }
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function table(rows: Row[]): string {
  const header = ['setting', 'model', 'conc', 'req/s', 'p50 µs', 'p99 µs', 'CPU µs/req', 'req/s per round', 'load'];
  const cells = rows.map((r) => [
    r.setting,
    r.model,
    String(r.concurrency),
    ...[
      median(r.rounds.map((x) => x.throughput)),
      median(r.rounds.map((x) => x.p50Us)),
      median(r.rounds.map((x) => x.p99Us)),
      median(r.cpuUsPerRequest),
    ].map((v) => String(round(v))),
    r.rounds.map((x) => String(round(x.throughput))).join(' '),
    r.loads.map((x) => x.toFixed(1)).join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row.map((c, i) => (i < 2 || i >= 7 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const { flags } = parseCliArgs(process.argv.slice(2), HELP, {});
  const known = [
    'pools',
    'intra',
    'tf-inter',
    'concurrency',
    'models',
    'rounds',
    'duration',
    'warmup',
    'baseline',
    'out',
  ];
  for (const name of flags.keys()) if (!known.includes(name)) throw new Error(`unknown flag --${name}\n${HELP}`);
  const pools = numbers(flags.get('pools') ?? '1,2,4,8', 'pools');
  const intras = numbers(flags.get('intra') ?? '1,2', 'intra');
  const tfInters = (flags.get('tf-inter') ?? 'pool').split(',');
  const concurrencies = numbers(flags.get('concurrency') ?? '1,16', 'concurrency');
  const rounds = numbers(flags.get('rounds') ?? '2', 'rounds')[0];
  const durationMs = Number(flags.get('duration') ?? 1.5) * 1000;
  const warmupMs = Number(flags.get('warmup') ?? 0.5) * 1000;
  const out = path.resolve(flags.get('out') ?? path.join(REPO_ROOT, 'var/bench/threads.json'));
  const modelConfigFile = path.join(REPO_ROOT, 'var/models/models.config');
  const models = benchModels(modelConfigFile, (flags.get('models') ?? 'mlp_torch,mlp_tf').split(','), 8);
  const payloads = new Map(models.map((m) => [m.name, buildPayload(m, 'content')]));
  const sweep = settings(pools, intras, tfInters, flags.get('baseline') === 'true');
  const configFile = writeModelConfig(
    modelConfigFile,
    models.map((m) => m.name),
    path.join(path.dirname(out), 'threads.config'),
  );
  log(
    `${sweep.length} settings x ${rounds} round(s); per model and concurrency ${warmupMs} ms warm-up + ` +
      `${durationMs} ms; ${models.map((m) => m.name).join(', ')} [8, 512]; ${os.availableParallelism()} CPUs`,
  );

  const rows = new Map<string, Row>();
  for (let roundIndex = 0; roundIndex < rounds; roundIndex++) {
    for (const setting of sweep) {
      const server = await startDuoserve(
        configFile,
        models.map((m) => m.name),
        setting.args,
        180_000,
        path.dirname(out),
        { TF_CPP_MIN_LOG_LEVEL: '2' },
      );
      const grpc = new RawGrpcClient(server.grpcTarget);
      try {
        if (roundIndex === 0 && setting === sweep[0] && models.length === 2) {
          // A benchmark of wrong answers measures nothing: the two MLPs share their weights.
          const [a, b] = await Promise.all(
            models.map(async (m) =>
              predictResponseOutput(await grpc.call(PREDICT_PATH, payloads.get(m.name)!.predictRequest, 30_000), 'y'),
            ),
          );
          assertClose(`${models[1].name} vs ${models[0].name}`, b, a);
        }
        for (const model of models) {
          const request = payloads.get(model.name)!.predictRequest;
          for (const concurrency of concurrencies) {
            const call = () => grpc.call(PREDICT_PATH, request);
            const [warm] = await measureInterleaved([call], {
              concurrency,
              warmupMs: 0,
              durationMs: warmupMs,
              rounds: 1,
            });
            if (warm instanceof Error) throw warm;
            const cpuBefore = cpuSeconds(server.pid);
            const [result] = await measureInterleaved([call], { concurrency, warmupMs: 0, durationMs, rounds: 1 });
            if (result instanceof Error) throw result;
            const cpuUs = ((cpuSeconds(server.pid) - cpuBefore) * 1e6) / result.requests;
            const key = `${setting.label}|${model.name}|${concurrency}`;
            const row = rows.get(key) ?? {
              setting: setting.label,
              model: model.name,
              concurrency,
              rounds: [],
              cpuUsPerRequest: [],
              loads: [],
            };
            row.rounds.push(result);
            row.cpuUsPerRequest.push(cpuUs);
            row.loads.push(os.loadavg()[0]);
            rows.set(key, row);
            log(
              `round ${roundIndex + 1} ${setting.label.padEnd(34)} ${model.name.padEnd(10)} c=${String(concurrency).padEnd(2)} ` +
                `${round(result.throughput)} req/s  p50 ${round(result.p50Us)} µs  p99 ${round(result.p99Us)} µs  ` +
                `CPU ${round(cpuUs)} µs/req ` +
                `(load ${os.loadavg()[0].toFixed(1)})`,
            );
          }
        }
      } finally {
        grpc.close();
        await server.stop();
      }
    }
  }

  const sorted = [...rows.values()].sort((a, b) => a.model.localeCompare(b.model) || a.concurrency - b.concurrency);
  console.log(`\nMedian over ${rounds} round(s) (closed loops over gRPC; load = 1-min load average per round)`);
  console.log(table(sorted));
  const result = {
    date: new Date().toISOString(),
    host: { node: process.version, cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model },
    options: { pools, intras, tfInters, concurrencies, rounds, durationMs, warmupMs },
    rows: sorted.map((r) => ({
      setting: r.setting,
      model: r.model,
      concurrency: r.concurrency,
      throughput: round(median(r.rounds.map((x) => x.throughput))),
      p50Us: round(median(r.rounds.map((x) => x.p50Us))),
      p99Us: round(median(r.rounds.map((x) => x.p99Us))),
      cpuUsPerRequest: round(median(r.cpuUsPerRequest)),
      throughputPerRound: r.rounds.map((x) => round(x.throughput)),
      loadPerRound: r.loads.map((x) => round(x)),
    })),
    totalS: round(Number(process.hrtime.bigint() - started) / 1e9),
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  log(`done in ${result.totalS} s; JSON in ${path.relative(process.cwd(), out)}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((error) => {
  console.error(`[bench:threads] ${(error as Error).stack ?? error}`);
  process.exit(1);
});
