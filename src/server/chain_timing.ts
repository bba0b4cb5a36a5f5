/**
 * Per-step timings of a chain, on request: the client sends `x-duoserve-chain-timing: 1`
 * (gRPC metadata or an HTTP header) and gets one `x-duoserve-step-<step>-us` entry per step
 * that ran (gRPC trailing metadata, HTTP response headers), its wall-clock microseconds.
 * Requests to a plain model get none.
 */
export const CHAIN_TIMING_HEADER = 'x-duoserve-chain-timing';

/** A Map for RunRequest.timings when the header asks for timings, else undefined. */
export function timingsRequested(value: unknown): Map<string, number> | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === '1' ? new Map() : undefined;
}

/** [header name, value] per step. Step names are lowercase [a-z0-9_-], valid in both. */
export function stepTimingHeaders(timings: Map<string, number> | undefined): Array<[string, string]> {
  return [...(timings ?? [])].map(([step, microseconds]) => [`x-duoserve-step-${step}-us`, String(microseconds)]);
}
