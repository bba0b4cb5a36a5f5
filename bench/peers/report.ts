/** The peer benchmark's figures: one table of every contender, and the targets. */
import { type Ratio, ratio, table } from '../report';
import { type LatencySummary, poolRounds, round } from '../stats';
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

/** Each point's rounds as one (stats.ts poolRounds); a point that failed in any round is an error. */
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
    return { contender, path, concurrency, result: poolRounds(rounds.map((m) => m.result!)) };
  });
}

const PATH_LABELS: Record<PeerPath, string> = { rest: 'REST', grpc: 'gRPC', in_process: 'in-process' };

export function contenderLabel(contender: Contender, path: PeerPath): string {
  switch (contender) {
    case 'duoserve':
      return 'duoserve';
    case 'duoserve_unbatched':
      return 'duoserve unbatched';
    case 'torchserve':
      return 'TorchServe';
    case 'echo':
      return path === 'rest' ? 'bare fastify route' : 'bare grpc-js echo';
    case 'in_process':
      return 'in-process, no server';
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

const ORDER: Contender[] = ['duoserve', 'duoserve_unbatched', 'torchserve', 'echo', 'in_process'];
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
    if (!r) return [...cells, 'error', '', '', '', '', ''];
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
      r.clientCpuUsPerRequest === undefined ? '' : String(round(r.clientCpuUsPerRequest)),
      versus,
    ];
  });
  const body = table(
    ['path', 'c', 'server', 'req/s', 'p50 µs', 'p99 µs', 'requests', 'generator CPU µs/req', 'duoserve/this req/s'],
    rows,
    'lrlrrrrrr',
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
  const at = (contender: Contender, path: PeerPath) => find(measurements, contender, path, concurrency);
  const rps = (contender: Contender, path: PeerPath) => at(contender, path)?.throughput;
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

/**
 * Issue 11's targets with both servers batching, at c=16: REST req/s >= 3x TorchServe's; on gRPC
 * the ratio to the bare echo no lower than duoserve's unbatched one of the same run (the target
 * is that ratio); the MLP's gRPC req/s >= 0.7x the in-process batched call's.
 */
export function batchingTargets(measurements: PeerMeasurement[], concurrency = 16): Ratio[] {
  const rps = (contender: Contender, path: PeerPath) => find(measurements, contender, path, concurrency)?.throughput;
  const c = `c=${concurrency}`;
  const echo = rps('echo', 'grpc');
  const unbatched = ratio('', MODEL, rps('duoserve_unbatched', 'grpc'), echo, null).value;
  return [
    ratio(
      `REST req/s duoserve / TorchServe, both batching, ${c}`,
      MODEL,
      rps('duoserve', 'rest'),
      rps('torchserve', 'rest'),
      { op: '>=', bound: 3 },
    ),
    ratio(
      `gRPC req/s duoserve batched / bare grpc-js echo, ${c} (target: the unbatched ratio)`,
      MODEL,
      rps('duoserve', 'grpc'),
      echo,
      unbatched === null ? null : { op: '>=', bound: unbatched },
    ),
    ratio(
      `gRPC req/s duoserve unbatched / bare grpc-js echo, ${c}`,
      MODEL,
      rps('duoserve_unbatched', 'grpc'),
      echo,
      null,
    ),
    ratio(
      `gRPC req/s duoserve batched / TorchServe batching, ${c}`,
      MODEL,
      rps('duoserve', 'grpc'),
      rps('torchserve', 'grpc'),
      null,
    ),
    ratio(
      `gRPC req/s duoserve batched / in-process batched, ${c}`,
      MODEL,
      rps('duoserve', 'grpc'),
      rps('in_process', 'in_process'),
      { op: '>=', bound: 0.7 },
    ),
    ratio(
      `REST req/s duoserve batched / in-process batched, ${c}`,
      MODEL,
      rps('duoserve', 'rest'),
      rps('in_process', 'in_process'),
      null,
    ),
    ratio(
      `gRPC req/s duoserve batched / unbatched, ${c}`,
      MODEL,
      rps('duoserve', 'grpc'),
      rps('duoserve_unbatched', 'grpc'),
      null,
    ),
  ];
}
