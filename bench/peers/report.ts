/** The peer benchmark's figures: one table of every contender, and the targets. */
import { type Ratio, ratio, table } from '../report';
import { type LatencySummary, round } from '../stats';
import type { ApiPath, Contender } from './options';

export type PeerPath = ApiPath | 'in_process';

export interface PeerMeasurement {
  contender: Contender;
  path: PeerPath;
  concurrency: number;
  result?: LatencySummary;
  error?: string;
}

/** One point of one round: the servers are measured in turn, round after round (A B, A B). */
export interface RoundMeasurement extends PeerMeasurement {
  round: number;
}

/**
 * Each point's rounds as one: requests and time add up (req/s = all requests over all the timed
 * time), the mean is weighted by requests, and p50 and p99 are the mean of the rounds' own (the
 * generators report percentiles, not samples). A point that failed in any round is an error.
 */
export function mergeRounds(measurements: RoundMeasurement[]): PeerMeasurement[] {
  const groups = new Map<string, RoundMeasurement[]>();
  for (const m of measurements) {
    const key = `${m.contender} ${m.path} ${m.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups.values()].map((rounds) => {
    const { contender, path, concurrency } = rounds[0];
    const failed = rounds.find((m) => m.error !== undefined || !m.result);
    if (failed) return { contender, path, concurrency, error: `round ${failed.round}: ${failed.error}` };
    const results = rounds.map((m) => m.result!);
    const requests = results.reduce((sum, r) => sum + r.requests, 0);
    const seconds = results.reduce((sum, r) => sum + r.requests / r.throughput, 0);
    const mean = (pick: (r: LatencySummary) => number) => results.reduce((sum, r) => sum + pick(r), 0) / results.length;
    return {
      contender,
      path,
      concurrency,
      result: {
        requests,
        throughput: requests / seconds,
        meanUs: results.reduce((sum, r) => sum + r.meanUs * r.requests, 0) / requests,
        p50Us: mean((r) => r.p50Us),
        p99Us: mean((r) => r.p99Us),
      },
    };
  });
}

const PATH_LABELS: Record<PeerPath, string> = { rest: 'REST', grpc: 'gRPC', in_process: 'in-process' };

export function contenderLabel(contender: Contender, path: PeerPath): string {
  switch (contender) {
    case 'duoserve':
      return 'duoserve';
    case 'torchserve':
      return 'TorchServe';
    case 'echo':
      return path === 'rest' ? 'bare fastify route' : 'bare grpc-js echo';
    case 'in_process':
      return 'addon call, no server';
  }
}

function find(
  measurements: PeerMeasurement[],
  contender: Contender,
  path: PeerPath,
  concurrency: number,
): LatencySummary | undefined {
  return measurements.find((m) => m.contender === contender && m.path === path && m.concurrency === concurrency)
    ?.result;
}

const ORDER: Contender[] = ['duoserve', 'torchserve', 'echo', 'in_process'];
const PATH_ORDER: PeerPath[] = ['rest', 'grpc', 'in_process'];

/**
 * Rows by path, concurrency, contender; the last column is duoserve's req/s over the row's
 * (over REST duoserve's REST, over gRPC its gRPC, for the in-process call its gRPC).
 */
export function peersTable(measurements: PeerMeasurement[]): string {
  const sorted = [...measurements].sort(
    (a, b) =>
      PATH_ORDER.indexOf(a.path) - PATH_ORDER.indexOf(b.path) ||
      a.concurrency - b.concurrency ||
      ORDER.indexOf(a.contender) - ORDER.indexOf(b.contender),
  );
  const rows = sorted.map((m) => {
    const cells = [PATH_LABELS[m.path], String(m.concurrency), contenderLabel(m.contender, m.path)];
    const r = m.result;
    if (!r) return [...cells, 'error', '', '', '', ''];
    const duoserve =
      m.contender === 'duoserve'
        ? undefined
        : find(measurements, 'duoserve', m.path === 'rest' ? 'rest' : 'grpc', m.concurrency);
    const versus = duoserve && r.throughput > 0 ? `${round(duoserve.throughput / r.throughput)}x` : '';
    return [
      ...cells,
      String(round(r.throughput)),
      String(round(r.p50Us)),
      String(round(r.p99Us)),
      String(r.requests),
      versus,
    ];
  });
  const body = table(
    ['path', 'c', 'server', 'req/s', 'p50 µs', 'p99 µs', 'requests', 'duoserve/this req/s'],
    rows,
    'lrlrrrrr',
  );
  const errors = measurements
    .filter((m) => m.error)
    .map(
      (m) =>
        `  ${PATH_LABELS[m.path]} c=${m.concurrency} ${contenderLabel(m.contender, m.path)}: ${m.error!.split('\n')[0].slice(0, 300)}`,
    );
  return errors.length ? `${body}\nerrors:\n${errors.join('\n')}` : body;
}

const MODEL = 'mlp_torch';

/** Issue 9's targets, at c=16 (null value where a side was not measured). */
export function peerTargets(measurements: PeerMeasurement[], concurrency = 16): Ratio[] {
  const at = (contender: Contender, path: ApiPath) => find(measurements, contender, path, concurrency);
  const rps = (contender: Contender, path: ApiPath) => at(contender, path)?.throughput;
  const p99 = (contender: Contender, path: ApiPath) => at(contender, path)?.p99Us;
  const c = `c=${concurrency}`;
  return [
    ratio(`REST req/s duoserve / TorchServe, ${c}`, MODEL, rps('duoserve', 'rest'), rps('torchserve', 'rest'), {
      op: '>=',
      bound: 3,
    }),
    ratio(`REST req/s duoserve / bare fastify, ${c}`, MODEL, rps('duoserve', 'rest'), rps('echo', 'rest'), {
      op: '>=',
      bound: 0.5,
    }),
    ratio(`gRPC req/s duoserve / bare grpc-js echo, ${c}`, MODEL, rps('duoserve', 'grpc'), rps('echo', 'grpc'), {
      op: '>=',
      bound: 0.85,
    }),
    ratio(`gRPC req/s duoserve / TorchServe, ${c}`, MODEL, rps('duoserve', 'grpc'), rps('torchserve', 'grpc'), {
      op: '>=',
      bound: 3,
    }),
    ratio(`REST p99 duoserve / TorchServe, ${c}`, MODEL, p99('duoserve', 'rest'), p99('torchserve', 'rest'), {
      op: '<=',
      bound: 1,
    }),
    ratio(`gRPC p99 duoserve / TorchServe, ${c}`, MODEL, p99('duoserve', 'grpc'), p99('torchserve', 'grpc'), {
      op: '<=',
      bound: 1,
    }),
  ];
}
