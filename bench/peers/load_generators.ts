/**
 * The independent load generators both servers get: wrk for REST (one thread, `c` keep-alive
 * connections, each POSTing the same JSON body in a closed loop) and ghz for gRPC (`c` concurrent
 * calls over one HTTP/2 connection, the same serialized request each time). Each point is a
 * discarded warm-up run, then the timed run; the parsers turn their reports into stats.ts's summary.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LatencySummary } from '../stats';

export const PEERS_DIR = path.join(__dirname, '..', '..', '..', 'bench', 'peers');

export interface LoadPoint {
  concurrency: number;
  warmupS: number;
  durationS: number;
}

interface GeneratorRun {
  stdout: string;
  /** The generator's own CPU time (user + system), seconds. */
  cpuS: number;
}

/** `times` of the bash that ran the generator: its own line, then its children's. */
const TIMES_LINE = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/;

export function childCpuSeconds(stderr: string): number {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((line) => TIMES_LINE.test(line));
  const children = lines.at(-1)?.match(TIMES_LINE);
  if (!children) throw new Error(`no CPU times in: ${stderr.slice(-300)}`);
  const [, userMin, userS, sysMin, sysS] = children.map(Number);
  return userMin * 60 + userS + sysMin * 60 + sysS;
}

/** Runs a generator under bash, whose `times` then says what the generator cost in CPU. */
function run(file: string, args: string[], timeoutMs: number): Promise<GeneratorRun> {
  const script = '"$@"; status=$?; times >&2; exit $status';
  return new Promise((resolve, reject) =>
    execFile(
      'bash',
      ['-c', script, path.basename(file), file, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        const output = stderr
          .split('\n')
          .filter((line) => !TIMES_LINE.test(line))
          .join('\n');
        if (error) reject(new Error(`${path.basename(file)} failed: ${(output.trim() || error.message).slice(-2000)}`));
        else resolve({ stdout, cpuS: childCpuSeconds(stderr) });
      },
    ),
  );
}

/** The summary with the generator's CPU per completed request beside it. */
function withClientCpu(summary: LatencySummary, cpuS: number): LatencySummary {
  return { ...summary, clientCpuUsPerRequest: (cpuS * 1e6) / summary.requests };
}

/**
 * After the warm-up, before timing: the calls the warm-up left running when it closed its
 * connections still run on the server (TorchServe even queues them) and would land in the timed part.
 */
const SETTLE_MS = 1000;

async function warmUp(file: string, args: string[], seconds: number): Promise<void> {
  if (seconds === 0) return;
  // The warm-up's figures are dropped, and so are its failures: a slow server may finish nothing in it.
  await run(file, args, (seconds + 60) * 1000).catch(() => undefined);
  await sleep(SETTLE_MS);
}

const WRK_MARK = 'WRK_SUMMARY ';

interface WrkSummary {
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  errors: Record<string, number>;
  /** HTTP status -> count, for answers >= 400, and the start of one of them. */
  failedStatuses?: Record<string, number>;
  failedBody?: string;
}

/** The summary line bench/peers/wrk_post.lua prints; throws on any failed request. */
export function parseWrkOutput(stdout: string): LatencySummary {
  const line = stdout.split('\n').find((l) => l.startsWith(WRK_MARK));
  if (!line) throw new Error(`wrk printed no summary line: ${stdout.slice(-500)}`);
  const summary = JSON.parse(line.slice(WRK_MARK.length)) as WrkSummary;
  const failed = Object.entries(summary.errors).filter(([, count]) => count > 0);
  if (failed.length > 0) {
    const statuses = Object.entries(summary.failedStatuses ?? {}).map(([status, count]) => `${count}x HTTP ${status}`);
    const answer = summary.failedBody ? `, e.g. ${summary.failedBody}` : '';
    throw new Error(
      `wrk: failed requests (${failed.map(([kind, count]) => `${kind} ${count}`).join(', ')})` +
        (statuses.length > 0 ? `: ${statuses.join(', ')}${answer}` : ''),
    );
  }
  if (summary.requests === 0) throw new Error('wrk: no request completed');
  return {
    requests: summary.requests,
    p50Us: summary.p50Us,
    p99Us: summary.p99Us,
    meanUs: summary.meanUs,
    throughput: summary.requests / (summary.durationUs / 1e6),
  };
}

export async function runWrk(wrk: string, url: string, bodyFile: string, point: LoadPoint): Promise<LatencySummary> {
  const args = (seconds: number) => [
    '-t1',
    `-c${point.concurrency}`,
    `-d${seconds}s`,
    '--timeout',
    '30s',
    '-s',
    path.join(PEERS_DIR, 'wrk_post.lua'),
    url,
    '--',
    bodyFile,
  ];
  await warmUp(wrk, args(point.warmupS), point.warmupS);
  const { stdout, cpuS } = await run(wrk, args(point.durationS), (point.durationS + 60) * 1000);
  return withClientCpu(parseWrkOutput(stdout), cpuS);
}

interface GhzReport {
  count: number;
  total: number;
  average: number;
  latencyDistribution: Array<{ percentage: number; latency: number }> | null;
  statusCodeDistribution: Record<string, number> | null;
  errorDistribution: Record<string, number> | null;
}

/** ghz's JSON report (`-O json`, nanoseconds); throws on any call that did not end OK. */
export function parseGhzReport(json: string): LatencySummary {
  const report = JSON.parse(json) as GhzReport;
  const statuses = report.statusCodeDistribution ?? {};
  const failed = Object.entries(statuses).filter(([status, count]) => status !== 'OK' && count > 0);
  if (failed.length > 0) {
    const why = Object.entries(report.errorDistribution ?? {})
      .map(([message, count]) => `${count}x ${message}`)
      .join('; ');
    throw new Error(`ghz: failed calls (${failed.map(([s, n]) => `${s} ${n}`).join(', ')}): ${why.slice(0, 500)}`);
  }
  const ok = statuses.OK ?? 0;
  if (ok === 0) throw new Error('ghz: no call completed');
  const at = (percentage: number) => {
    const entry = report.latencyDistribution?.find((d) => d.percentage === percentage);
    if (!entry) throw new Error(`ghz report has no ${percentage}th percentile`);
    return entry.latency / 1e3;
  };
  return {
    requests: ok,
    p50Us: at(50),
    p99Us: at(99),
    meanUs: report.average / 1e3,
    throughput: ok / (report.total / 1e9),
  };
}

export interface GhzCall {
  /** Proto file and the folders its imports resolve in. */
  proto: string;
  importPaths: string[];
  /** package.Service.Method */
  method: string;
  /** The serialized request message. */
  binaryFile: string;
  target: string;
}

export async function runGhz(ghz: string, call: GhzCall, point: LoadPoint): Promise<LatencySummary> {
  const args = (seconds: number) => [
    '--insecure',
    `--proto=${call.proto}`,
    `--import-paths=${call.importPaths.join(',')}`,
    `--call=${call.method}`,
    `--binary-file=${call.binaryFile}`,
    '--connections=1',
    // One OS thread of load, as wrk's -t1: the generator takes the same share of the cores everywhere.
    '--cpus=1',
    `--concurrency=${point.concurrency}`,
    `--duration=${seconds}s`,
    // Calls still running at the deadline finish instead of being cancelled (and counted failed).
    '--duration-stop=wait',
    '--timeout=30s',
    '--format=json',
    call.target,
  ];
  await warmUp(ghz, args(point.warmupS), point.warmupS);
  const { stdout, cpuS } = await run(ghz, args(point.durationS), (point.durationS + 60) * 1000);
  return withClientCpu(parseGhzReport(stdout), cpuS);
}
