/**
 * `npm run bench:pt2`: the same PyTorch model as TorchScript (model.pt) and as an AOTInductor
 * package (model.pt2), each served by bin/duoserve over gRPC and run in-process through the
 * addon (the floor the server is judged by), at concurrency 1 and 16: p50 and throughput side
 * by side. The pairs are the examples half_plus_two_{torch,pt2} (tiny: the per-call overhead)
 * and mlp_{torch,pt2} (3 x 512 dense layers: the compute). Every path of one concurrency is
 * timed in interleaved rounds, so noise on a shared machine lands on all of them alike.
 * Knobs as `npm run bench` (bench/options.ts: --quick, --duration, --mlp-rows, --models, ...);
 * the JSON goes to var/bench/pt2_vs_torchscript.json unless --out says otherwise.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDuoserve } from './duoserve_process';
import { PREDICT_PATH, RawGrpcClient } from './grpc_client';
import { type InProcessModel, loadInProcess, useServerThreadBudget } from './in_process';
import { type Call, measureInterleaved } from './load_loop';
import { benchModels, type BenchModel, writeModelConfig } from './models';
import { parseOptions, REPO_ROOT } from './options';
import { buildPayload, decodeTensorProto, predictResponseOutput, type Payload } from './payloads';
import { assertClose } from './sanity';
import { type LatencySummary, round } from './stats';

const CONCURRENCIES = [1, 16];
const PAIRS: Array<[string, string]> = [
  ['half_plus_two_torch', 'half_plus_two_pt2'],
  ['mlp_torch', 'mlp_pt2'],
];

type Path = 'grpc' | 'in_process';

interface Row {
  model: string;
  format: 'torchscript' | 'pt2';
  path: Path;
  concurrency: number;
  result?: LatencySummary;
  error?: string;
}

function log(line: string): void {
  console.log(`[bench:pt2] ${line}`);
}

function formatOf(model: string): Row['format'] {
  return model.endsWith('_pt2') ? 'pt2' : 'torchscript';
}

function table(rows: Row[]): string {
  const header = ['model', 'format', 'path', 'conc', 'p50 µs', 'p99 µs', 'req/s'];
  const cells = rows.map((r) => [
    r.model,
    r.format,
    r.path === 'grpc' ? 'gRPC duoserve' : 'in-process addon',
    String(r.concurrency),
    ...(r.result
      ? [r.result.p50Us, r.result.p99Us, r.result.throughput].map((v) => String(round(v)))
      : ['error', '', '']),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** pt2 / TorchScript for each pair, path and concurrency: p50 (lower is better) and throughput. */
function comparisons(rows: Row[]) {
  const out = [];
  for (const [torchscript, pt2] of PAIRS) {
    for (const pathName of ['grpc', 'in_process'] as Path[]) {
      for (const concurrency of CONCURRENCIES) {
        const find = (model: string) =>
          rows.find((r) => r.model === model && r.path === pathName && r.concurrency === concurrency)?.result;
        const a = find(torchscript);
        const b = find(pt2);
        if (!a || !b) continue;
        out.push({
          pair: `${pt2} / ${torchscript}`,
          path: pathName,
          concurrency,
          p50Ratio: round(b.p50Us / a.p50Us),
          throughputRatio: round(b.throughput / a.throughput),
        });
      }
    }
  }
  return out;
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  useServerThreadBudget();
  const options = parseOptions(process.argv.slice(2), {
    ...process.env,
    BENCH_MODELS: process.env.BENCH_MODELS ?? PAIRS.flat().join(','),
    BENCH_OUT: process.env.BENCH_OUT ?? path.join(REPO_ROOT, 'var/bench/pt2_vs_torchscript.json'),
  });
  const models: BenchModel[] = benchModels(options.modelConfigFile, options.models, options.mlpRows);
  const payloads = new Map<string, Payload>(models.map((m) => [m.name, buildPayload(m, options.requestTensor)]));
  log(
    `${options.quick ? 'quick' : 'full'} run: ${models.map((m) => m.name).join(', ')}; per path warm-up ` +
      `${options.warmupMs} ms + ${options.durationMs} ms in ${options.rounds} interleaved round(s); mlp input ` +
      `[${options.mlpRows}, 512]; ${os.cpus().length} CPUs`,
  );

  const inProcess = new Map<string, InProcessModel>();
  const rows: Row[] = [];
  const server = await startDuoserve(
    writeModelConfig(
      options.modelConfigFile,
      models.map((m) => m.name),
      path.join(path.dirname(options.out), 'pt2_vs_torchscript.config'),
    ),
    models.map((m) => m.name),
    options.serverArgs,
    options.serverStartTimeoutMs,
    path.dirname(options.out),
  );
  const grpc = new RawGrpcClient(server.grpcTarget);
  try {
    log(`duoserve up in ${round(server.startupS)} s`);
    // Answers first: gRPC = in-process, and the two formats of one model agree.
    const answers = new Map<string, ReturnType<typeof decodeTensorProto>>();
    for (const model of models) {
      const payload = payloads.get(model.name)!;
      const local = await loadInProcess(model, payload.tensorProto);
      inProcess.set(model.name, local);
      const [[, output]] = await local.run();
      const mine = decodeTensorProto(output as Buffer);
      const served = predictResponseOutput(
        await grpc.call(PREDICT_PATH, payload.predictRequest, 30_000),
        model.outputAlias,
      );
      assertClose(`${model.name}: gRPC vs in-process`, served, mine);
      answers.set(model.name, mine);
    }
    for (const [a, b] of PAIRS) {
      if (answers.has(a) && answers.has(b)) assertClose(`${b} vs ${a}`, answers.get(b)!, answers.get(a)!);
    }
    log('answers checked: gRPC = in-process, .pt2 = TorchScript');

    for (const concurrency of CONCURRENCIES) {
      const contenders: Array<{ model: BenchModel; path: Path; call: Call }> = [];
      for (const model of models) {
        const payload = payloads.get(model.name)!;
        contenders.push({ model, path: 'grpc', call: () => grpc.call(PREDICT_PATH, payload.predictRequest) });
        contenders.push({ model, path: 'in_process', call: inProcess.get(model.name)!.run });
      }
      const results = await measureInterleaved(
        contenders.map((c) => c.call),
        { concurrency, warmupMs: options.warmupMs, durationMs: options.durationMs, rounds: options.rounds },
      );
      contenders.forEach(({ model, path: pathName }, i) => {
        const result = results[i];
        const row: Row = { model: model.name, format: formatOf(model.name), path: pathName, concurrency };
        if (result instanceof Error) row.error = result.message;
        else row.result = result;
        rows.push(row);
        log(
          `${model.name.padEnd(20)} ${pathName.padEnd(10)} c=${String(concurrency).padEnd(2)} ` +
            (result instanceof Error
              ? `FAILED ${result.message.split('\n')[0]}`
              : `p50 ${round(result.p50Us)} µs  ${round(result.throughput)} req/s`),
        );
      });
    }
  } finally {
    grpc.close();
    await server.stop();
    for (const model of inProcess.values()) model.unload();
  }

  const ratios = comparisons(rows);
  console.log('\nLatency and throughput (closed loops)');
  console.log(table(rows));
  console.log('\n.pt2 relative to TorchScript (p50: < 1 is faster; throughput: > 1 is more)');
  for (const r of ratios) {
    console.log(
      `  ${r.pair.padEnd(40)} ${r.path.padEnd(10)} c=${String(r.concurrency).padEnd(2)} p50 ${r.p50Ratio}x  throughput ${r.throughputRatio}x`,
    );
  }
  const result = {
    date: new Date().toISOString(),
    host: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model },
    options: {
      quick: options.quick,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      rounds: options.rounds,
      mlpRows: options.mlpRows,
      requestTensor: options.requestTensor,
      serverArgs: options.serverArgs,
    },
    rows: rows.map((r) => ({
      ...r,
      result: r.result && Object.fromEntries(Object.entries(r.result).map(([k, v]) => [k, round(v)])),
    })),
    ratios,
    totalS: round(Number(process.hrtime.bigint() - started) / 1e9),
  };
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  log(`done in ${result.totalS} s; JSON in ${path.relative(process.cwd(), options.out)}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((error) => {
  console.error(`[bench:pt2] ${(error as Error).stack ?? error}`);
  process.exit(1);
});
