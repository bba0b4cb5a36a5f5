/**
 * `npm run bench:overload`: what --duoserve_max_queued_requests_per_model does at 10x capacity.
 * One model served by bin/duoserve with the bound (its default) and without it (0), one server at
 * a time. For each: the capacity in a closed loop (c calls in flight), then `factor` x the bounded
 * server's capacity offered open-loop (each call sent on time whatever the others do, up to
 * --open-concurrency unanswered) for a fixed time while the server's RSS is sampled from
 * /proc/PID/status, then the closed loop again at once: the recovery. Prints capacity, offered
 * and served req/s, the calls not served and their status, p50/p99 of the served ones beside the
 * queue wait the bound allows (bound / capacity: an admitted call waits behind up to `bound`
 * others, as a count bound means it to), peak vs idle RSS, and the recovery's req/s (over all of
 * it, and over its second half, once the bounded backlog of bound / capacity seconds has
 * drained) and p99 against the capacity's; writes var/bench/overload.json.
 *
 * The model is the costly_scalar TorchScript fixture (test/fixtures/export_torch_fixtures.py,
 * exported into var/models/test/pytorch): x [rows, 512] through four 512x512 layers, answered as
 * y [rows], so a run costs 2 MFLOP a row while the request (one float_val value filling the
 * tensor) stays ~40 bytes and the answer 4 bytes a row (2 KiB at the default 512). A model with large answers measures the transport instead:
 * mlp_torch's y [64, 512] is 128 KiB, and HTTP/2 interleaves the DATA frames of every answer in
 * flight on a connection under the client's receive window (64 KiB in grpc-js and ghz), so during
 * the burst no OK answer completed (the server had answered them: its request_count) while the
 * refusals, trailers-only HEADERS that flow control does not hold, came back at once: OK latency
 * was the burst's length and "recovery" the backlog's drain.
 *
 * The load comes from grpc-js clients in this process (raw bytes, bench/grpc_client.ts): the
 * burst spread over --connections connections, as many clients send it, and one connection for
 * the closed loops. Every client gets 8 MiB stream and connection windows
 * ('grpc-node.flow_control_window', as the server's own), so no flow control artifact remains;
 * "received" is what the clients got during the burst, beside (in brackets) the server's own
 * count of calls it answered OK then; the server's CPU (all threads, and its JS thread) and the
 * generator's during the burst are printed too, since on 2 shared CPUs refusing ~1000 calls a
 * second takes CPU from the runs. Every call has a deadline (--deadline), as real clients' do:
 * one that expires while queued is answered DEADLINE_EXCEEDED and never runs. Without the bound
 * the backlog is held to --open-concurrency calls by the generator's own cap.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { parseCliArgs } from './cli_args';
import { type DuoserveProcess, startDuoserve } from './duoserve_process';
import { PREDICT_PATH, RawGrpcClient } from './grpc_client';
import { REPO_ROOT } from './options';
import { cpuSeconds } from './process_cpu';
import { readProcessMemory } from './process_memory';
import { loadAverages, table } from './report';
import { percentile, round } from './stats';
import { FLAGS_BY_NAME } from '../src/config/flag_list';
import { DEFAULT_FLOW_CONTROL_WINDOW } from '../src/server/grpc/grpc_server';
import { Protos } from '../src/protos';

/** Rows per request: on 2 shared CPUs a capacity of 100-150 req/s, so 10x is ~1000-1500 calls a second of ~40 B each way plus 2 KiB answers. */
const DEFAULT_ROWS = 512;

const HELP = `usage: npm run bench:overload -- [flags]
  bin/duoserve with --duoserve_max_queued_requests_per_model at its default, then at 0 (unbounded),
  one server at a time: closed-loop capacity, factor x capacity offered open-loop, recovery.
  --rows=N                 rows of costly_scalar's x [rows, 512] per request, default ${DEFAULT_ROWS}
  --factor=N               offered load over the bounded server's capacity, default 10
  --concurrency=N          closed-loop calls in flight (capacity, recovery), default 8
  --open-concurrency=N     the open loop's most calls in flight, default 2000
  --burst=SEC              open-loop seconds, default 8
  --measure=SEC            closed-loop seconds before and after the burst, default 4
  --warmup=SEC             discarded closed-loop seconds after each start, default 2
  --deadline=SEC           every call's deadline, default 10
  --connections=N          connections the burst's calls are spread over (many clients), default 16
  --out=FILE               JSON result, default var/bench/overload.json`;

const MODEL = 'costly_scalar';
const MODEL_BASE_PATH = path.join(REPO_ROOT, 'var/models/test/pytorch', MODEL);
const WORK_DIR = path.join(REPO_ROOT, 'var/bench/overload');
const RSS_SAMPLE_MS = 100;
const PROMETHEUS_PATH = '/monitoring/prometheus/metrics';
const BOUND_FLAG = 'duoserve_max_queued_requests_per_model';
/** The bound the bounded server runs with: the flag's default. */
const DEFAULT_BOUND = Number(FLAGS_BY_NAME.get(BOUND_FLAG)!.defaultValue);

export interface OverloadOptions {
  rows: number;
  factor: number;
  concurrency: number;
  openConcurrency: number;
  burstS: number;
  measureS: number;
  warmupS: number;
  deadlineS: number;
  connections: number;
  out: string;
}

export function parseOverloadOptions(argv: string[]): OverloadOptions {
  const { flags } = parseCliArgs(argv, HELP, {});
  const known = ['rows', 'factor', 'concurrency', 'open-concurrency', 'burst', 'measure', 'warmup'];
  for (const name of flags.keys()) {
    if (![...known, 'deadline', 'connections', 'out'].includes(name))
      throw new Error(`unknown flag --${name}\n${HELP}`);
  }
  const count = (name: string, fallback: number, least = 1) => {
    const text = flags.get(name);
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < least)
      throw new Error(`--${name} must be an integer >= ${least}, got ${text}`);
    return value;
  };
  return {
    rows: count('rows', DEFAULT_ROWS),
    factor: count('factor', 10),
    concurrency: count('concurrency', 8),
    openConcurrency: count('open-concurrency', 2000),
    burstS: count('burst', 8),
    measureS: count('measure', 4),
    warmupS: count('warmup', 2, 0),
    deadlineS: count('deadline', 10),
    connections: count('connections', 16),
    out: path.resolve(flags.get('out') ?? path.join(REPO_ROOT, 'var/bench/overload.json')),
  };
}

/** The serialized PredictRequest every call sends: one float_val value fills x [rows, 512]. */
export function overloadRequest(rows: number): Buffer {
  const x = { dtype: 1, tensor_shape: { dim: [{ size: rows }, { size: 512 }] }, float_val: [0.25] };
  return Buffer.from(Protos.PredictRequest.encode({ model_spec: { name: MODEL }, inputs: { x } }).finish());
}

export interface LoadResult {
  /** Answered OK per second over the run. */
  servedRps: number;
  /** Answered OK per second over the run's second half (after a backlog it started with has had time to drain). */
  lateServedRps: number;
  served: number;
  /** Calls sent per second over the run (open loop: what was offered and could be sent). */
  sentRps: number;
  /** Every call that did not end OK, by gRPC status name; and one message of each status. */
  failed: Record<string, number>;
  messages: Record<string, string>;
  /** Of the served calls only, µs. */
  p50Us: number;
  p99Us: number;
  /** Of the calls not served, µs: how soon a refusal came. */
  failedP50Us: number;
}

/** The calls of one run: each served call's latency, the others by status. */
export class CallLog {
  private readonly servedNs: number[] = [];
  /** When each served call ended, ns since the log was made. */
  private readonly servedAtNs: number[] = [];
  private readonly createdNs = process.hrtime.bigint();
  private readonly failedNs: number[] = [];
  private readonly failed: Record<string, number> = {};
  private readonly messages: Record<string, string> = {};
  sent = 0;

  /** Sends one call through `call` and records how it ended. */
  async record(call: () => Promise<unknown>): Promise<void> {
    this.sent++;
    const started = process.hrtime.bigint();
    try {
      await call();
      const ended = process.hrtime.bigint();
      this.servedNs.push(Number(ended - started));
      this.servedAtNs.push(Number(ended - this.createdNs));
    } catch (error) {
      const code = (error as { code?: number }).code;
      const status = code === undefined ? 'client error' : (grpc.status[code] ?? String(code));
      this.failedNs.push(Number(process.hrtime.bigint() - started));
      this.failed[status] = (this.failed[status] ?? 0) + 1;
      this.messages[status] ??= String((error as { details?: string }).details ?? error).slice(0, 300);
    }
  }

  summary(seconds: number): LoadResult {
    const served = Float64Array.from(this.servedNs).sort();
    const at = (p: number) => (served.length === 0 ? NaN : percentile(served, p) / 1e3);
    return {
      servedRps: served.length / seconds,
      lateServedRps: this.servedAtNs.filter((at) => at >= (seconds / 2) * 1e9).length / (seconds / 2),
      served: served.length,
      sentRps: this.sent / seconds,
      failed: { ...this.failed },
      messages: { ...this.messages },
      p50Us: at(0.5),
      p99Us: at(0.99),
      failedP50Us: this.failedNs.length === 0 ? NaN : percentile(Float64Array.from(this.failedNs).sort(), 0.5) / 1e3,
    };
  }
}

type Call = () => Promise<unknown>;

/** `concurrency` loops, each sending its next call when its last one ends, for `seconds`. */
async function closedLoop(call: Call, concurrency: number, seconds: number): Promise<LoadResult> {
  const log = new CallLog();
  const end = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) await log.record(call);
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  return log.summary((performance.now() - started) / 1000);
}

const TICK_MS = 5;

/**
 * `rps` calls a second for `seconds`, each sent on time whatever the others do (open loop),
 * up to `maxInFlight` unanswered; resolves when the time is up, leaving the unanswered calls
 * to end in the background, as clients that gave up would; `settled`: every call's fate once they have.
 */
async function openLoop(
  call: Call,
  rps: number,
  maxInFlight: number,
  seconds: number,
): Promise<{ result: LoadResult; settled: Promise<LoadResult> }> {
  const log = new CallLog();
  const calls: Array<Promise<void>> = [];
  let inFlight = 0;
  const started = performance.now();
  let due = 0;
  while (performance.now() - started < seconds * 1000) {
    const target = Math.floor(((performance.now() - started) / 1000) * rps);
    for (; due < target && inFlight < maxInFlight; due++) {
      inFlight++;
      calls.push(log.record(call).finally(() => inFlight--));
    }
    due = Math.max(due, target); // a call the in-flight cap held back is not sent later
    await sleep(TICK_MS);
  }
  return {
    result: log.summary(seconds),
    settled: Promise.allSettled(calls).then(() => log.summary(seconds)),
  };
}

/** The server's own count of calls it answered OK (TF-Serving's request_count), from its Prometheus page. */
async function answeredOk(server: DuoserveProcess): Promise<number> {
  const page = await (await fetch(`http://127.0.0.1:${server.restPort}${PROMETHEUS_PATH}`)).text();
  const match = new RegExp(
    `^:tensorflow:serving:request_count\\{model_name="${MODEL}",status="OK"\\} (\\S+)$`,
    'm',
  ).exec(page);
  return match ? Number(match[1]) : 0;
}

interface ModeResult {
  mode: 'bounded' | 'unbounded';
  serverFlag: string;
  /** The server's bound (0: none). */
  bound: number;
  loadBefore: string;
  capacity: LoadResult;
  offeredRps: number;
  burst: LoadResult;
  /** The burst's calls once all have ended (the unanswered ones after the burst, by their deadline at the latest). */
  burstSettled: LoadResult;
  /** Calls the server answered OK per second during the burst, by its own count (some reach their client later). */
  burstAnsweredRps: number;
  /** CPU-seconds per second this process (the load generator) spent during the burst. */
  generatorCpu: number;
  /** CPU-seconds per second the server spent during the burst: all its threads, and its JS thread's part. */
  serverCpu: number;
  serverJsCpu: number;
  idleRssMiB: number;
  peakRssMiB: number;
  recovery: LoadResult;
}

/** Samples the server's RSS every RSS_SAMPLE_MS until stopped; returns the largest. */
function sampleRss(server: DuoserveProcess): () => number {
  let peak = readProcessMemory(server.pid).rssMiB;
  const timer = setInterval(() => {
    peak = Math.max(peak, readProcessMemory(server.pid).rssMiB);
  }, RSS_SAMPLE_MS);
  return () => {
    clearInterval(timer);
    return Math.max(peak, readProcessMemory(server.pid).rssMiB);
  };
}

async function measureMode(
  options: OverloadOptions,
  mode: ModeResult['mode'],
  configFile: string,
  monitoringConfig: string,
  request: Buffer,
  offeredRps: number | undefined,
): Promise<ModeResult> {
  const bound = mode === 'bounded' ? DEFAULT_BOUND : 0;
  const serverFlag = `--${BOUND_FLAG}=${bound}`;
  const loadBefore = loadAverages();
  const server = await startDuoserve(
    configFile,
    [MODEL],
    [
      '--duoserve_grpc_listen_address=127.0.0.1',
      '--duoserve_rest_listen_address=127.0.0.1',
      `--monitoring_config_file=${monitoringConfig}`,
      serverFlag,
    ],
    180_000,
    WORK_DIR,
  );
  const client = () =>
    new RawGrpcClient(server.grpcTarget, { ownConnection: true, flowControlWindow: DEFAULT_FLOW_CONTROL_WINDOW });
  const closedClient = client();
  const burstClients = Array.from({ length: options.connections }, client);
  const via = (client: RawGrpcClient) => () => client.call(PREDICT_PATH, request, options.deadlineS * 1000);
  let next = 0;
  const burstCall = () => via(burstClients[next++ % burstClients.length])();
  try {
    if (options.warmupS > 0) await closedLoop(via(closedClient), options.concurrency, options.warmupS);
    const capacity = await closedLoop(via(closedClient), options.concurrency, options.measureS);
    if (capacity.served === 0)
      throw new Error(`${mode}: no call served in the closed loop: ${JSON.stringify(capacity)}`);
    const offered = offeredRps ?? Math.round(options.factor * capacity.servedRps);
    const idleRssMiB = readProcessMemory(server.pid).rssMiB;
    const peak = sampleRss(server);
    for (const client of burstClients) await via(client)(); // each connection up
    const okBefore = await answeredOk(server);
    const cpuBefore = process.cpuUsage();
    const serverCpuBefore = cpuSeconds(server.pid);
    const serverJsCpuBefore = cpuSeconds(server.pid, { mainThreadOnly: true });
    const burst = await openLoop(burstCall, offered, options.openConcurrency, options.burstS);
    const cpu = process.cpuUsage(cpuBefore);
    const generatorCpu = (cpu.user + cpu.system) / 1e6 / options.burstS;
    const serverCpu = (cpuSeconds(server.pid) - serverCpuBefore) / options.burstS;
    const serverJsCpu = (cpuSeconds(server.pid, { mainThreadOnly: true }) - serverJsCpuBefore) / options.burstS;
    const burstAnsweredRps = ((await answeredOk(server)) - okBefore) / options.burstS;
    // At once, while the burst's unanswered calls are still with the server.
    const recovery = await closedLoop(via(closedClient), options.concurrency, options.measureS);
    const peakRssMiB = peak();
    const burstSettled = await burst.settled;
    return {
      mode,
      serverFlag,
      bound,
      loadBefore,
      capacity,
      offeredRps: offered,
      burst: burst.result,
      burstSettled,
      burstAnsweredRps,
      generatorCpu,
      serverCpu,
      serverJsCpu,
      idleRssMiB,
      peakRssMiB,
      recovery,
    };
  } finally {
    closedClient.close();
    for (const client of burstClients) client.close();
    await server.stop();
  }
}

const ms = (us: number) => String(round(us / 1000));
const statuses = (failed: Record<string, number>) =>
  Object.entries(failed)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ') || '0';

async function main(): Promise<void> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const options = parseOverloadOptions(process.argv.slice(2));
  fs.mkdirSync(WORK_DIR, { recursive: true });
  if (!fs.existsSync(path.join(MODEL_BASE_PATH, '1', 'model.pt'))) {
    throw new Error(`${MODEL_BASE_PATH} is missing: run .venv/bin/python scripts/export_models.py --out var/models`);
  }
  const configFile = path.join(WORK_DIR, 'models.config');
  fs.writeFileSync(
    configFile,
    `model_config_list {\n  config {\n    name: "${MODEL}"\n    base_path: "${MODEL_BASE_PATH}"\n    model_platform: "pytorch"\n  }\n}\n`,
  );
  const request = overloadRequest(options.rows);
  const monitoringConfig = path.join(WORK_DIR, 'monitoring.config');
  fs.writeFileSync(monitoringConfig, 'prometheus_config { enable: true }\n');
  console.log(
    `[overload] ${MODEL} x float32 [${options.rows}, 512] (one float_val), closed loop c=${options.concurrency}, ` +
      `${options.factor}x capacity open-loop for ${options.burstS} s (at most ${options.openConcurrency} in flight); ` +
      `${os.cpus().length} CPUs, load ${loadAverages()}`,
  );
  const results: ModeResult[] = [];
  for (const mode of ['bounded', 'unbounded'] as const) {
    const result = await measureMode(options, mode, configFile, monitoringConfig, request, results[0]?.offeredRps);
    results.push(result);
    console.log(
      `[overload] ${mode}: capacity ${round(result.capacity.servedRps)} req/s, burst served ` +
        `${round(result.burst.servedRps)} req/s, shed ${statuses(result.burst.failed)}; CPU during the burst: server ` +
        `${round(result.serverCpu)} (JS thread ${round(result.serverJsCpu)}), generator ${round(result.generatorCpu)} ` +
        `(load before ${result.loadBefore})`,
    );
  }
  const rows = results.map((r) => [
    r.mode,
    String(round(r.capacity.servedRps)),
    `${r.offeredRps} (${round(r.burst.sentRps)} sent)`,
    `${round(r.burst.servedRps)} (${round(r.burstAnsweredRps)})`,
    `${statuses(r.burst.failed)}; by the end ${statuses(r.burstSettled.failed)}`,
    ms(r.burst.failedP50Us),
    r.bound === 0
      ? 'none'
      : `${r.bound} / ${round(r.capacity.servedRps)} = ${round((r.bound / r.capacity.servedRps) * 1000)}`,
    ms(r.burst.p50Us),
    ms(r.burst.p99Us),
    `${round(r.idleRssMiB)} -> ${round(r.peakRssMiB)}`,
    `${round(r.recovery.servedRps)} (${round(r.recovery.lateServedRps)}) / ${round(r.capacity.servedRps)}`,
    `${ms(r.recovery.p99Us)} / ${ms(r.capacity.p99Us)}`,
  ]);
  console.log(
    `\n${table(
      [
        'duoserve',
        'capacity req/s',
        'offered req/s',
        'received (answered) req/s',
        "not served during the burst; by its calls' end",
        'refusal p50 ms',
        'bound wait ms (bound / capacity)',
        'p50 ms',
        'p99 ms',
        'RSS MiB idle -> peak',
        'after (2nd half) / before req/s',
        'after/before p99 ms',
      ],
      rows,
      'lrrrlrrrrrrr',
    )}`,
  );
  for (const r of results) {
    for (const [status, message] of Object.entries(r.burstSettled.messages))
      console.log(`  ${r.mode} ${status}: ${message}`);
  }
  const [bounded, unbounded] = results;
  const growth = (r: ModeResult) => r.peakRssMiB - r.idleRssMiB;
  const recovered = (r: ModeResult) =>
    `${round(r.recovery.servedRps / r.capacity.servedRps)} (${round(r.recovery.lateServedRps / r.capacity.servedRps)})`;
  console.log(
    `\nRSS growth bounded / unbounded: ${round(growth(bounded))} / ${round(growth(unbounded))} MiB; ` +
      `recovery req/s after/before (its 2nd half): bounded ${recovered(bounded)}, unbounded ${recovered(unbounded)}\nload average at the end: ${loadAverages()}`,
  );
  const result = {
    date: new Date().toISOString(),
    host: { node: process.version, cpus: os.cpus().length, loadAtEnd: loadAverages() },
    options,
    results,
  };
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`[overload] written to ${path.relative(process.cwd(), options.out) || options.out}`);
}

if (require.main === module) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  main().catch((error) => {
    console.error(`[overload] ${(error as Error).stack ?? error}`);
    process.exit(1);
  });
}
