/** The figures of one run: the targets' ratios, and the tables printed at the end. */
import * as os from 'node:os';
import type { DecodeCost } from './decode_cost';
import type { ModelSize } from './models';
import { type LatencySummary, round } from './stats';

export type PathName = 'grpc' | 'grpc_echo' | 'rest' | 'rest_echo' | 'in_process';

export const PATH_LABELS: Record<PathName, string> = {
  grpc: 'gRPC duoserve',
  grpc_echo: 'gRPC bare echo',
  rest: 'REST duoserve',
  rest_echo: 'REST bare fastify',
  in_process: 'in-process addon',
};

export interface Measurement {
  model: string;
  size: ModelSize;
  path: PathName;
  concurrency: number;
  result?: LatencySummary;
  error?: string;
}

export interface Ratio {
  name: string;
  model: string;
  value: number | null;
  /** e.g. "<= 2"; null where the issue sets no target for this model. */
  target: string | null;
  met: boolean | null;
}

function find(
  measurements: Measurement[],
  model: string,
  path: PathName,
  concurrency: number,
): LatencySummary | undefined {
  return measurements.find((m) => m.model === model && m.path === path && m.concurrency === concurrency)?.result;
}

export function ratio(
  name: string,
  model: string,
  numerator: number | undefined,
  denominator: number | undefined,
  target: { op: '<=' | '>='; bound: number } | null,
): Ratio {
  const value =
    numerator !== undefined && denominator !== undefined && denominator > 0 ? numerator / denominator : null;
  const met =
    target === null || value === null ? null : target.op === '<=' ? value <= target.bound : value >= target.bound;
  return {
    name,
    model,
    value: value === null ? null : round(value),
    target: target && `${target.op} ${target.bound}`,
    met,
  };
}

/**
 * The targets: tiny model at concurrency 1, gRPC p50 and REST p50 each within 2x of
 * the bare echo of the same payload; mid-size model at concurrency 16, gRPC throughput at
 * least 0.8x of the in-process one. Every model gets every ratio; only those get a target.
 */
export function targetRatios(measurements: Measurement[], models: Array<{ name: string; size: ModelSize }>): Ratio[] {
  const ratios: Ratio[] = [];
  for (const { name, size } of models) {
    const p50 = (path: PathName) => find(measurements, name, path, 1)?.p50Us;
    const throughput = (path: PathName) => find(measurements, name, path, 16)?.throughput;
    const tiny = size === 'tiny' ? { op: '<=' as const, bound: 2 } : null;
    ratios.push(ratio('gRPC p50 / bare gRPC echo p50, c=1', name, p50('grpc'), p50('grpc_echo'), tiny));
    ratios.push(ratio('REST p50 / bare fastify echo p50, c=1', name, p50('rest'), p50('rest_echo'), tiny));
    ratios.push(
      ratio(
        'gRPC throughput / in-process throughput, c=16',
        name,
        throughput('grpc'),
        throughput('in_process'),
        size === 'mid' ? { op: '>=', bound: 0.8 } : null,
      ),
    );
  }
  return ratios;
}

/** `align`: one letter per column, l(eft) or r(ight). */
export function table(header: string[], rows: string[][], align: string): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (align[i] === 'l' ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const figure = (value: number) => String(round(value));

export function latencyTable(measurements: Measurement[]): string {
  const rows = measurements.map((m) => {
    const cells = [m.model, PATH_LABELS[m.path], String(m.concurrency)];
    const r = m.result;
    if (!r) return [...cells, 'error', '', '', '', ''];
    return [...cells, figure(r.p50Us), figure(r.p99Us), figure(r.meanUs), figure(r.throughput), String(r.requests)];
  });
  const errors = measurements
    .filter((m) => m.error)
    .map((m) => `  ${m.model} ${PATH_LABELS[m.path]} c=${m.concurrency}: ${m.error!.split('\n')[0].slice(0, 200)}`);
  const body = table(['model', 'path', 'conc', 'p50 µs', 'p99 µs', 'mean µs', 'req/s', 'requests'], rows, 'llrrrrrr');
  return errors.length ? `${body}\nerrors:\n${errors.join('\n')}` : body;
}

export function ratioTable(ratios: Ratio[]): string {
  const rows = ratios.map((r) => [
    r.model,
    r.name,
    r.value === null ? 'n/a' : `${r.value}x`,
    r.target === null ? '(no target)' : `${r.target}x`,
    r.met === null ? (r.target === null ? '' : 'not measured') : r.met ? 'met' : 'not met',
  ]);
  return table(['model', 'ratio', 'value', 'target', ''], rows, 'llrll');
}

export function decodeTable(costs: DecodeCost[], what: string): string {
  const rows = costs.map((c) => [
    c.tensor === 'fields' ? 'float_val' : 'tensor_content',
    what,
    String(c.requestBytes),
    String(c.envelopeUs),
    String(c.fullUs),
    `${c.ratio}x`,
  ]);
  return table(['input as', 'request', 'bytes', 'envelope µs', 'full decode µs', 'full/envelope'], rows, 'llrrrr');
}

/** The 1, 5 and 15 minute load averages, as `uptime` prints them: every figure is noted with it. */
export function loadAverages(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}
