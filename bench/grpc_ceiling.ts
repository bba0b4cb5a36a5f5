/**
 * What bounds a grpc-js server's unary throughput, and what lifts it: the bare echo of
 * echo_servers.ts (PredictRequest bytes in, a recorded-size PredictResponse out, no decoding)
 * under server variants (options, Node http2 settings grpc-js does not expose, several
 * processes sharing the port), against a node:http2 echo without grpc-js as a floor. Every
 * variant runs in its own child process; they are timed interleaved (A B C, A B C) at each
 * concurrency, over one connection and over several.
 *
 * Load: ghz (--ghz=PATH or GHZ) when given, the same Go client the issue's figures came from;
 * otherwise this repo's grpc-js client loop (bench/grpc_client.ts), which shares the machine's
 * cores with the server and so reads lower.
 *
 *   npm run bench:grpc-ceiling -- --ghz=var/peers/bin/ghz --variants=default,channelz_off
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Protos } from '../src/protos';
import { DEFAULT_FLOW_CONTROL_WINDOW } from '../src/server/grpc/grpc_server';
import { parseCliArgs } from './cli_args';
import { type CeilingServer, type CeilingVariant, startCeilingServer } from './ceiling_server';
import { PREDICT_PATH, RawGrpcClient } from './grpc_client';
import { measureInterleaved } from './load_loop';
import { type BenchModel, seededValues } from './models';
import { REPO_ROOT, type RequestTensorEncoding } from './options';
import { predictRequestBytes, tensorMessage } from './payloads';
import { statTimes } from './process_cpu';
import { readProcessMemory } from './process_memory';
import { type LatencySummary, round } from './stats';

const MIB = 1024 * 1024;

export const VARIANTS: CeilingVariant[] = [
  { name: 'default', about: "grpc-js's defaults (64 KiB HTTP/2 windows) with the message limits lifted" },
  {
    name: 'channelz_off',
    about: "'grpc.enable_channelz': 0 (no per-call channelz counters)",
    serverOptions: { 'grpc.enable_channelz': 0 },
  },
  {
    name: 'windows_1m',
    about: 'http2 initialWindowSize 1 MiB per stream and an 8 MiB connection window (grpc-js keeps 64 KiB)',
    http2Settings: { initialWindowSize: MIB },
    localWindowSize: 8 * MIB,
  },
  {
    name: 'flow_1m',
    about: "1 MiB stream and connection windows, as grpc-js's client sets for 'grpc-node.flow_control_window'",
    http2Settings: { initialWindowSize: MIB },
    localWindowSize: MIB,
  },
  {
    name: 'flow_8m',
    about: "8 MiB stream and connection windows, duoserve's default (src/server/grpc/grpc_server.ts)",
    flowControlWindow: DEFAULT_FLOW_CONTROL_WINDOW,
  },
  {
    name: 'stream_window_1m',
    about: 'http2 initialWindowSize 1 MiB per stream only (connection window left at 64 KiB)',
    http2Settings: { initialWindowSize: MIB },
  },
  {
    name: 'conn_window_1m',
    about: 'a 1 MiB connection receive window only (setLocalWindowSize; streams keep 64 KiB)',
    localWindowSize: MIB,
  },
  {
    name: 'conn_window_8m',
    about: 'an 8 MiB connection receive window only (setLocalWindowSize; streams keep 64 KiB)',
    localWindowSize: 8 * MIB,
  },
  {
    name: 'frame_1m',
    about: 'http2 maxFrameSize 1 MiB (the largest DATA frame this server accepts; default 16 KiB)',
    http2Settings: { maxFrameSize: MIB - 1 },
  },
  {
    name: 'limits_default',
    about: "grpc-js's own 4 MiB receive / unlimited send (duoserve lifts both, as TF-Serving)",
    serverOptions: { 'grpc.max_receive_message_length': 4 * MIB, 'grpc.max_send_message_length': -1 },
  },
  {
    name: 'semi_space_16m',
    about: 'V8 young generation of 16 MiB semi-spaces (--max-semi-space-size=16): fewer scavenges',
    nodeFlags: ['--max-semi-space-size=16'],
  },
  {
    name: 'flow_8m_semi_16m',
    about: 'flow_8m and semi_space_16m together',
    flowControlWindow: DEFAULT_FLOW_CONTROL_WINDOW,
    nodeFlags: ['--max-semi-space-size=16'],
  },
  {
    name: 'worker_transport',
    about: 'grpc-js (flow_8m) on a worker thread, each request forwarded to the main thread and back',
    transport: 'grpc-js-worker',
    flowControlWindow: DEFAULT_FLOW_CONTROL_WINDOW,
  },
  { name: 'cluster_2', about: 'two node:cluster processes sharing the port (by connection)', processes: 2 },
  { name: 'cluster_3', about: 'three node:cluster processes sharing the port (by connection)', processes: 3 },
  {
    name: 'node_http2',
    about: 'the same echo on node:http2 with no grpc-js (a floor, not an option)',
    transport: 'node-http2',
  },
];

type PayloadName = 'mlp_content' | 'mlp_fields' | 'tiny';

interface Payload {
  request: Buffer;
  response: Buffer;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The request the benches send, and a PredictResponse of the model's output shape (float_val, duoserve's default). */
function buildPayload(name: PayloadName): Payload {
  const tiny = name === 'tiny';
  const model: BenchModel = {
    name: tiny ? 'half_plus_two' : 'mlp_torch',
    platform: tiny ? 'tensorflow' : 'pytorch_torchscript',
    size: tiny ? 'tiny' : 'mid',
    versionDir: '',
    inputAlias: 'x',
    outputAlias: 'y',
    shape: tiny ? [3] : [8, 512],
    values: tiny ? Float32Array.from([1, 2, 5]) : seededValues(8 * 512),
  };
  const encoding: RequestTensorEncoding = name === 'mlp_content' ? 'content' : 'fields';
  const response = Protos.PredictResponse.encode({
    outputs: { y: tensorMessage(model, 'fields') },
    model_spec: { name: model.name, version: { value: 1 }, signature_name: 'serving_default' },
  }).finish();
  return { request: predictRequestBytes(model, encoding), response: toBuffer(response) };
}

/** How ghz sees the messages: as TF-Serving's (it builds and parses every float) or as opaque bytes. */
type GhzMessages = 'full' | 'opaque';

interface Options {
  ghz?: string;
  ghzMessages: GhzMessages;
  durationMs: number;
  rounds: number;
  concurrencies: number[];
  connections: number[];
  variants: CeilingVariant[];
  payloads: PayloadName[];
  /** Write each server's --cpu-prof profile here. */
  cpuProfDir?: string;
  out: string;
}

const HELP = `usage: node dist/bench/grpc_ceiling.js [flags]
  --ghz=PATH              ghz binary (GHZ); without it, this repo's grpc-js client loop
  --ghz-messages=opaque   ghz's view of the same bytes: opaque (bench/protos/opaque_predict.proto,
                          default) or full (TF-Serving's protos: ghz then spends more CPU per
                          call than the server, on the same cores)
  --duration=SEC          timed seconds per variant and cell, split over the rounds, default 4
  --rounds=N              interleaved rounds, default 2
  --concurrency=1,16,64   concurrent calls
  --connections=1,4       HTTP/2 connections the calls spread over (cells with fewer calls skipped)
  --variants=a,b          default all: ${VARIANTS.map((variant) => variant.name).join(', ')}
  --payloads=a,b          mlp_content (default), mlp_fields, tiny
  --cpu-prof-dir=DIR      run each server with --cpu-prof, profiles into DIR
  --out=FILE              JSON result, default var/bench/grpc_ceiling.json`;

function list(text: string | undefined, fallback: string): string[] {
  return (text ?? fallback).split(',').filter(Boolean);
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { flags } = parseCliArgs(argv, HELP, {});
  const known = [
    'ghz',
    'ghz-messages',
    'duration',
    'rounds',
    'concurrency',
    'connections',
    'variants',
    'payloads',
    'cpu-prof-dir',
    'out',
  ];
  for (const name of flags.keys()) if (!known.includes(name)) throw new Error(`unknown flag --${name}\n${HELP}`);
  const positive = (name: string, text: string): number => {
    const value = Number(text);
    if (!(value > 0)) throw new Error(`--${name} takes positive numbers, got ${text}`);
    return value;
  };
  const variants = list(flags.get('variants'), VARIANTS.map((variant) => variant.name).join(',')).map((name) => {
    const variant = VARIANTS.find((candidate) => candidate.name === name);
    if (!variant) throw new Error(`unknown variant ${name}\n${HELP}`);
    return variant;
  });
  const payloads = list(flags.get('payloads'), 'mlp_content').map((name) => {
    if (!['mlp_content', 'mlp_fields', 'tiny'].includes(name)) throw new Error(`unknown payload ${name}\n${HELP}`);
    return name as PayloadName;
  });
  const ghz = flags.get('ghz') ?? env.GHZ;
  if (ghz !== undefined && !fs.existsSync(ghz)) throw new Error(`--ghz=${ghz}: no such file`);
  const cpuProfDir = flags.get('cpu-prof-dir');
  const ghzMessages = flags.get('ghz-messages') ?? 'opaque';
  if (ghzMessages !== 'opaque' && ghzMessages !== 'full') throw new Error(`--ghz-messages is opaque or full\n${HELP}`);
  return {
    ghz: ghz && path.resolve(ghz),
    ghzMessages,
    durationMs: positive('duration', flags.get('duration') ?? '4') * 1000,
    rounds: Math.round(positive('rounds', flags.get('rounds') ?? '2')),
    concurrencies: list(flags.get('concurrency'), '1,16,64').map((text) => positive('concurrency', text)),
    connections: list(flags.get('connections'), '1,4').map((text) => positive('connections', text)),
    variants,
    payloads,
    cpuProfDir: cpuProfDir && path.resolve(cpuProfDir),
    out: path.resolve(flags.get('out') ?? path.join(REPO_ROOT, 'var/bench/grpc_ceiling.json')),
  };
}

interface Cell {
  concurrency: number;
  connections: number;
}

interface Timed {
  summary: LatencySummary;
  /** CPU seconds the load generator used (it shares the machine's cores with the server). */
  clientCpu: number;
}

/** Times `durationMs` of load on one server. */
type Runner = (server: CeilingServer, cell: Cell, durationMs: number) => Promise<Timed>;

interface GhzReport {
  count: number;
  total: number;
  rps: number;
  average: number;
  latencyDistribution: Array<{ percentage: number; latency: number }> | null;
  statusCodeDistribution: Record<string, number>;
  errorDistribution?: Record<string, number> | null;
}

const run = promisify(execFile);

const GHZ_PROTOS: Record<GhzMessages, { importPath: string; proto: string }> = {
  full: { importPath: 'proto', proto: 'proto/tensorflow_serving/apis/prediction_service.proto' },
  opaque: { importPath: 'bench/protos', proto: 'bench/protos/opaque_predict.proto' },
};

/** ghz against the echo's Predict path. */
function ghzRunner(ghz: string, messages: GhzMessages, requestFile: string): Runner {
  const protos = GHZ_PROTOS[messages];
  return async (server, cell, durationMs) => {
    // bash's `times` reports the CPU its child (ghz) used, on stderr's last line.
    const { stdout, stderr } = await run(
      'bash',
      [
        '-c',
        '"$0" "$@"; status=$?; times >&2; exit $status',
        ghz,
        '--insecure',
        `--import-paths=${path.join(REPO_ROOT, protos.importPath)}`,
        `--proto=${path.join(REPO_ROOT, protos.proto)}`,
        '--call=tensorflow.serving.PredictionService.Predict',
        `--binary-file=${requestFile}`,
        `--concurrency=${cell.concurrency}`,
        `--connections=${cell.connections}`,
        `--duration=${durationMs}ms`,
        // Calls in flight at the end are left out, not counted as failures.
        '--duration-stop=ignore',
        '--format=json',
        server.target,
      ],
      { maxBuffer: 64 * MIB },
    );
    const report = JSON.parse(stdout) as GhzReport;
    const failures = Object.entries(report.statusCodeDistribution).filter(([code]) => code !== 'OK');
    if (failures.length > 0) throw new Error(`ghz got ${JSON.stringify(report.errorDistribution ?? failures)}`);
    const at = (percentage: number) =>
      (report.latencyDistribution ?? []).find((entry) => entry.percentage === percentage)?.latency ?? NaN;
    const seconds = (text: string) => {
      const match = /^(\d+)m([\d.]+)s$/.exec(text);
      return match ? Number(match[1]) * 60 + Number(match[2]) : NaN;
    };
    const [user, system] = stderr.trim().split('\n').at(-1)!.split(' ').map(seconds);
    const summary = {
      requests: report.count,
      p50Us: at(50) / 1e3,
      p99Us: at(99) / 1e3,
      meanUs: report.average / 1e3,
      throughput: report.rps,
    };
    return { summary, clientCpu: user + system };
  };
}

/** The repo's grpc-js client: `connections` clients of their own connection, calls taking them in turn. */
function loopRunner(request: Buffer): Runner {
  return async (server, cell, durationMs) => {
    const clients = Array.from(
      { length: cell.connections },
      () => new RawGrpcClient(server.target, { ownConnection: true }),
    );
    try {
      let next = 0;
      const call = () => clients[next++ % clients.length].call(PREDICT_PATH, request);
      const before = process.cpuUsage();
      const [result] = await measureInterleaved([call], {
        concurrency: cell.concurrency,
        warmupMs: 300,
        durationMs,
        rounds: 1,
      });
      if (result instanceof Error) throw result;
      const used = process.cpuUsage(before);
      // The warm-up's share is left out, in proportion to time.
      return { summary: result, clientCpu: ((used.user + used.system) / 1e6) * (durationMs / (durationMs + 300)) };
    } finally {
      for (const client of clients) client.close();
    }
  };
}

interface CpuTime {
  user: number;
  system: number;
  /** Of which the JS threads' (each process's main thread), user and system: the one-thread bound. */
  js: number;
}

/** CPU seconds the processes have used so far: all threads, in user space and in the kernel, and the JS threads'. */
function cpuSeconds(pids: number[]): CpuTime {
  const total = { user: 0, system: 0, js: 0 };
  for (const pid of pids) {
    const [user, system] = statTimes(`/proc/${pid}/stat`);
    const [jsUser, jsSystem] = statTimes(`/proc/${pid}/task/${pid}/stat`);
    total.user += user;
    total.system += system;
    total.js += jsUser + jsSystem;
  }
  return total;
}

interface Row extends Cell {
  payload: PayloadName;
  variant: string;
  result?: LatencySummary;
  /** The server's CPU time per request (all its processes and threads): steadier than req/s on a shared machine. */
  cpuUsPerRequest?: CpuTime;
  clientCpuUsPerRequest?: number;
  error?: string;
  /** 1-minute load average, mean over this row's rounds. */
  load: number;
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Pools the rounds of one row: requests and time add up; p50/p99 are the rounds' medians' mean (ghz gives no samples). */
function pool(parts: LatencySummary[]): LatencySummary {
  const requests = parts.reduce((sum, part) => sum + part.requests, 0);
  const seconds = parts.reduce((sum, part) => sum + part.requests / part.throughput, 0);
  return {
    requests,
    throughput: requests / seconds,
    p50Us: mean(parts.map((part) => part.p50Us)),
    p99Us: mean(parts.map((part) => part.p99Us)),
    meanUs: mean(parts.map((part) => part.meanUs)),
  };
}

async function measurePayload(options: Options, payloadName: PayloadName): Promise<Row[]> {
  const payload = buildPayload(payloadName);
  const requestFile = path.join(os.tmpdir(), `grpc_ceiling_${process.pid}_${payloadName}.bin`);
  fs.writeFileSync(requestFile, payload.request);
  const runner = options.ghz ? ghzRunner(options.ghz, options.ghzMessages, requestFile) : loopRunner(payload.request);
  const servers: CeilingServer[] = [];
  const rows: Row[] = [];
  try {
    for (const variant of options.variants) {
      const execArgv = options.cpuProfDir
        ? [
            '--cpu-prof',
            '--cpu-prof-interval=250',
            `--cpu-prof-dir=${path.join(options.cpuProfDir, `${payloadName}.${variant.name}`)}`,
          ]
        : [];
      servers.push(await startCeilingServer(variant, PREDICT_PATH, payload.response, execArgv));
    }
    for (const [i, variant] of options.variants.entries()) {
      const memory = servers[i].pids.map((pid) => readProcessMemory(pid).rssMiB);
      console.log(`${variant.name}: ${variant.about}; RSS ${memory.map((mib) => mib.toFixed(0)).join(' + ')} MiB`);
    }
    // JIT-warm every server once before timing any.
    for (const server of servers) await runner(server, { concurrency: 4, connections: 1 }, 500);
    for (const connections of options.connections) {
      for (const concurrency of options.concurrencies) {
        if (connections > concurrency) continue;
        const cell = { concurrency, connections };
        const parts = servers.map((): LatencySummary[] => []);
        const cpu = servers.map((): CpuTime => ({ user: 0, system: 0, js: 0 }));
        const clientCpu = servers.map(() => 0);
        const loads = servers.map((): number[] => []);
        const errors: Array<string | undefined> = servers.map(() => undefined);
        for (let roundIndex = 0; roundIndex < options.rounds; roundIndex++) {
          for (const [i, server] of servers.entries()) {
            if (errors[i]) continue;
            try {
              loads[i].push(os.loadavg()[0]);
              const before = cpuSeconds(server.pids);
              const timed = await runner(server, cell, options.durationMs / options.rounds);
              parts[i].push(timed.summary);
              clientCpu[i] += timed.clientCpu;
              const after = cpuSeconds(server.pids);
              cpu[i].user += after.user - before.user;
              cpu[i].system += after.system - before.system;
              cpu[i].js += after.js - before.js;
            } catch (error) {
              errors[i] = (error as Error).message.slice(0, 300);
            }
          }
        }
        for (const [i, variant] of options.variants.entries()) {
          const row: Row = { payload: payloadName, variant: variant.name, ...cell, load: mean(loads[i]) };
          if (errors[i]) row.error = errors[i];
          else {
            row.result = pool(parts[i]);
            const perRequest = (seconds: number) => (seconds * 1e6) / row.result!.requests;
            row.cpuUsPerRequest = {
              user: perRequest(cpu[i].user),
              system: perRequest(cpu[i].system),
              js: perRequest(cpu[i].js),
            };
            row.clientCpuUsPerRequest = perRequest(clientCpu[i]);
          }
          rows.push(row);
          printRow(row, rows);
        }
      }
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    fs.rmSync(requestFile, { force: true });
  }
  return rows;
}

function printRow(row: Row, rows: Row[]): void {
  const base = rows.find(
    (other) =>
      other.variant === 'default' &&
      other.payload === row.payload &&
      other.concurrency === row.concurrency &&
      other.connections === row.connections,
  )?.result;
  const cells = [row.payload, row.variant, `conn=${row.connections}`, `c=${row.concurrency}`];
  if (!row.result) {
    console.log(`| ${cells.join(' | ')} | failed: ${row.error} |`);
    return;
  }
  const { throughput, p50Us, p99Us } = row.result;
  const ratio = base ? `${(throughput / base.throughput).toFixed(2)}x` : '';
  const { user, system, js } = row.cpuUsPerRequest!;
  const cpu = `${round(user)}+${round(system)} (JS thread ${round(js)})`;
  const clientCpu = round(row.clientCpuUsPerRequest!);
  console.log(
    `| ${cells.join(' | ')} | ${round(throughput)} req/s | p50 ${round(p50Us)} us | p99 ${round(p99Us)} us | ${ratio} | ${cpu} | ${clientCpu} | load ${row.load.toFixed(2)} |`,
  );
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  if (options.cpuProfDir) fs.mkdirSync(options.cpuProfDir, { recursive: true });
  console.log(
    `gRPC ceiling: load by ${options.ghz ? `ghz (${options.ghz}, ${options.ghzMessages} messages)` : 'the grpc-js client loop (no --ghz given)'}, ` +
      `${os.cpus().length} cores, ${options.durationMs / 1000} s per variant and cell in ${options.rounds} rounds`,
  );
  console.log(
    '| payload | variant | connections | c | req/s | p50 | p99 | vs default | server CPU/req us: user+sys (JS thread) | client CPU/req us | load |',
  );
  const rows: Row[] = [];
  for (const payload of options.payloads) rows.push(...(await measurePayload(options, payload)));
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(
    options.out,
    JSON.stringify(
      { loadGenerator: options.ghz ? `ghz ${options.ghzMessages}` : 'grpc-js loop', cores: os.cpus().length, rows },
      null,
      2,
    ),
  );
  console.log(`wrote ${options.out}`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
