/**
 * `npm run bench:lifecycle`: what a new model version costs a running bin/duoserve, per
 * framework. (a) The time from a version directory appearing (atomic rename into the base path)
 * to AVAILABLE, seen through GetModelStatus, against one file-system poll interval plus the
 * framework's raw load time measured in this process. (b) The server's RSS across load/unload
 * cycles. Each model is served alone, so its memory is its framework's. `--help` lists the knobs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type LifecycleOptions, parseLifecycleOptions } from './lifecycle_options';
import { runServedModel } from './lifecycle_model';
import { appearanceTable, type LifecycleFigures, lifecycleFigures, memoryTable } from './lifecycle_report';
import { newestVersionDir, readModelConfig } from './models';
import { timeRawLoads } from './raw_load_time';
import { round } from './stats';

function log(line: string): void {
  console.log(`[lifecycle] ${line}`);
}

async function measure(options: LifecycleOptions): Promise<LifecycleFigures[]> {
  const entries = new Map(readModelConfig(options.modelConfigFile).map((entry) => [entry.name, entry]));
  const frameworksStarted = new Set<string>();
  const figures: LifecycleFigures[] = [];
  for (const name of options.models) {
    const entry = entries.get(name);
    if (!entry) throw new Error(`${options.modelConfigFile} does not serve ${name}`);
    const source = newestVersionDir(entry.basePath);
    const served = await runServedModel(name, entry.platform, source, options, log);
    // After the server stopped, so the two do not share the CPUs.
    const raw = await timeRawLoads(entry.platform, source, options.rawLoads);
    const coldStart = !frameworksStarted.has(entry.platform);
    frameworksStarted.add(entry.platform);
    log(
      `${name}: raw ${entry.platform} load ${raw.warmMs.map((ms) => round(ms)).join(' ')} ms (first ${round(raw.firstMs)})`,
    );
    figures.push(lifecycleFigures(name, entry.platform, served, raw, coldStart, options.pollWaitSeconds));
  }
  return figures;
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const options = parseLifecycleOptions(process.argv.slice(2));
  const envText = Object.entries(options.serverEnv)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  log(
    `${options.quick ? 'quick' : 'full'} run: ${options.models.join(', ')}; ${options.cycles} cycles each, ` +
      `--file_system_poll_wait_seconds=${options.pollWaitSeconds}, ${options.rawLoads} raw loads` +
      (envText ? `; server env ${envText}` : ''),
  );
  const figures = await measure(options);

  console.log('\n(a) New version: rename into the base path -> AVAILABLE (GetModelStatus polled every ~10 ms)');
  console.log(appearanceTable(figures, options.pollWaitSeconds));
  console.log(`\n(b) Server RSS across load/unload cycles (read ${options.settleMs} ms after the old version's END)`);
  console.log(memoryTable(figures));

  const result = {
    date: new Date().toISOString(),
    host: {
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      platform: `${os.platform()} ${os.release()}`,
    },
    options: {
      quick: options.quick,
      cycles: options.cycles,
      rawLoads: options.rawLoads,
      pollWaitSeconds: options.pollWaitSeconds,
      settleMs: options.settleMs,
      serverArgs: options.serverArgs,
      serverEnv: options.serverEnv,
    },
    models: figures,
    totalS: round(Number(process.hrtime.bigint() - started) / 1e9),
  };
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  log(`done in ${result.totalS} s; JSON in ${path.relative(process.cwd(), options.out)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
