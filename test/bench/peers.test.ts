// The peer benchmark's pure logic: reading wrk's and ghz's reports, the options, and the
// issue's targets. The benchmark itself (servers, generators) stays out of the test command.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childCpuSeconds, parseGhzReport, parseWrkOutput } from '../../bench/peers/load_generators';
import { parsePeersOptions } from '../../bench/peers/options';
import { batchingTargets, mergeRounds, type PeerMeasurement, peersTable, peerTargets } from '../../bench/peers/report';
import type { LatencySummary } from '../../bench/stats';

// Recorded from wrk 4.1.0 with bench/peers/wrk_post.lua against the bare fastify echo.
const WRK_OK = `Running 1s test @ http://127.0.0.1:41415/echo/mlp_torch
  1 threads and 1 connections
  700 requests in 1.00s, 131.25KB read
Requests/sec:    699.56
WRK_SUMMARY {"requests":700,"durationUs":1000630,"p50Us":896,"p99Us":8387,"meanUs":1834.6,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0}}
`;
const WRK_404 = `  443 requests in 1.00s, 88.78KB read
  Non-2xx or 3xx responses: 443
WRK_SUMMARY {"requests":443,"durationUs":1003579,"p50Us":1773,"p99Us":10019,"meanUs":2516.2,"errors":{"connect":0,"read":0,"write":0,"status":443,"timeout":0},"failedStatuses":{"404":443},"failedBody":"{\\u0022error\\u0022:\\u0022no echo for nope\\u0022}"}
`;

// Recorded from ghz v0.121.0 -O json against the bare grpc-js echo (histogram left out).
const GHZ_OK = JSON.stringify({
  date: '2026-12-01T11:06:19Z',
  endReason: 'normal',
  count: 5,
  total: 31888829,
  average: 5460841,
  fastest: 1195871,
  slowest: 19797579,
  rps: 156.79471955523985,
  errorDistribution: {},
  statusCodeDistribution: { OK: 5 },
  latencyDistribution: [
    { percentage: 10, latency: 1195871 },
    { percentage: 25, latency: 1622005 },
    { percentage: 50, latency: 1982490 },
    { percentage: 75, latency: 2706263 },
    { percentage: 90, latency: 19797579 },
    { percentage: 95, latency: 19797579 },
    { percentage: 99, latency: 19797579 },
  ],
});

describe('parseWrkOutput', () => {
  it('reads the summary line of wrk_post.lua', () => {
    const summary = parseWrkOutput(WRK_OK);
    assert.equal(summary.requests, 700);
    assert.equal(summary.p50Us, 896);
    assert.equal(summary.p99Us, 8387);
    assert.equal(summary.meanUs, 1834.6);
    assert.ok(Math.abs(summary.throughput - 700 / 1.00063) < 1e-9);
  });

  it('fails a run with non-2xx answers, naming each status, its count and one answer', () => {
    assert.throws(
      () => parseWrkOutput(WRK_404),
      /failed requests \(status 443\): 443x HTTP 404, e\.g\. \{"error":"no echo for nope"\}/,
    );
  });

  it('fails when the script printed no summary', () => {
    assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n'), /no summary line/);
  });
});

describe('parseGhzReport', () => {
  it('reads count, total and percentiles (nanoseconds) into µs and req/s', () => {
    const summary = parseGhzReport(GHZ_OK);
    assert.equal(summary.requests, 5);
    assert.equal(summary.p50Us, 1982.49);
    assert.equal(summary.p99Us, 19797.579);
    assert.equal(summary.meanUs, 5460.841);
    assert.ok(Math.abs(summary.throughput - 5 / 0.031888829) < 1e-9);
  });

  it('fails a run with any call that did not end OK, with the error text', () => {
    const report = JSON.parse(GHZ_OK) as Record<string, unknown>;
    report.statusCodeDistribution = { OK: 3, Unavailable: 2 };
    report.errorDistribution = { 'rpc error: code = Unavailable desc = connection refused': 2 };
    assert.throws(
      () => parseGhzReport(JSON.stringify(report)),
      /failed calls \(Unavailable 2\): 2x rpc error: code = Unavailable/,
    );
  });
});

describe('parsePeersOptions', () => {
  it('defaults to every path, contender and concurrency, TorchServe 2 workers x 1 thread, no batching', () => {
    const options = parsePeersOptions([]);
    assert.deepEqual(options.paths, ['rest', 'grpc']);
    assert.deepEqual(options.concurrencies, [1, 16, 64]);
    assert.deepEqual(options.contenders, ['duoserve', 'torchserve', 'echo', 'in_process']);
    assert.equal(options.batching, false);
    assert.deepEqual(options.torchserve, { workers: 2, threads: 1, batchSize: 1, maxBatchDelayMs: 5 });
    assert.deepEqual([options.rounds, options.durationS, options.warmupS], [2, 5, 2]);
    assert.equal(options.skipInstall, false);
  });

  it('turns batching on for both servers with one switch, with the same limits on both', () => {
    const options = parsePeersOptions(['--batching', '--server-arg=--rest_api_timeout_in_ms=0']);
    assert.equal(options.torchserve.batchSize, 8);
    assert.deepEqual(options.serverArgs, ['--rest_api_timeout_in_ms=0']);
    // 8 requests of 8 rows, TorchServe's maxBatchDelay of 5 ms.
    assert.equal(options.batchingParameters, 'max_batch_size { value: 64 }\nbatch_timeout_micros { value: 5000 }\n');
    assert.ok(options.contenders.includes('duoserve_unbatched'));
    const four = parsePeersOptions(['--batching', '--torchserve-batch-size=4', '--torchserve-batch-delay-ms=20']);
    assert.equal(four.torchserve.batchSize, 4);
    assert.match(four.batchingParameters!, /max_batch_size \{ value: 32 \}\nbatch_timeout_micros \{ value: 20000 \}/);
    const off = parsePeersOptions([]);
    assert.deepEqual([off.serverArgs, off.batchingParameters], [[], null]);
    assert.ok(!off.contenders.includes('duoserve_unbatched'));
  });

  it('takes lists and whole seconds, and refuses what wrk could not run', () => {
    const options = parsePeersOptions(['--paths=grpc', '--concurrency=16', '--only=torchserve', '--skip-install']);
    assert.deepEqual([options.paths, options.concurrencies, options.contenders], [['grpc'], [16], ['torchserve']]);
    assert.equal(options.skipInstall, true);
    assert.throws(() => parsePeersOptions(['--duration=0.5']), /--duration must be an integer >= 1/);
    assert.throws(() => parsePeersOptions(['--concurrency=1,1.5']), /--concurrency must be an integer >= 1/);
    assert.throws(() => parsePeersOptions(['--only=tfserving']), /tfserving is not one of/);
    assert.throws(() => parsePeersOptions(['--batch=4']), /unknown flag --batch/);
  });
});

const summary = (throughput: number, p99Us: number): LatencySummary => ({
  requests: 1000,
  p50Us: p99Us / 2,
  p99Us,
  meanUs: p99Us / 2,
  throughput,
});

function measurements(): PeerMeasurement[] {
  return [
    { contender: 'duoserve', path: 'rest', concurrency: 16, result: summary(1800, 30_000) },
    { contender: 'torchserve', path: 'rest', concurrency: 16, result: summary(569, 40_000) },
    { contender: 'echo', path: 'rest', concurrency: 16, result: summary(3700, 8_000) },
    { contender: 'duoserve', path: 'grpc', concurrency: 16, result: summary(1100, 30_000) },
    { contender: 'torchserve', path: 'grpc', concurrency: 16, result: summary(503, 25_000) },
    { contender: 'echo', path: 'grpc', concurrency: 16, error: 'ghz: no call completed' },
  ];
}

describe('peerTargets', () => {
  it("judges issue 9's targets at c=16, and leaves an unmeasured side unjudged", () => {
    const byName = new Map(peerTargets(measurements()).map((r) => [r.name, r]));
    const get = (name: string) => byName.get(name)!;
    assert.deepEqual(get('REST req/s duoserve / TorchServe, c=16'), {
      name: 'REST req/s duoserve / TorchServe, c=16',
      model: 'mlp_torch',
      value: 3.16,
      target: '>= 3',
      met: true,
    });
    assert.equal(get('REST req/s duoserve / bare fastify, c=16').met, false); // 0.486
    assert.equal(get('gRPC req/s duoserve / TorchServe, c=16').met, false); // 2.19
    assert.equal(get('REST p99 duoserve / TorchServe, c=16').met, true); // 0.75
    assert.equal(get('gRPC p99 duoserve / TorchServe, c=16').met, false); // 1.2
    const echo = get('gRPC req/s duoserve / bare grpc-js echo, c=16');
    assert.equal(echo.value, null);
    assert.equal(echo.met, null);
  });
});

describe('childCpuSeconds', () => {
  it("reads the children's line of bash's times, after anything the generator wrote", () => {
    assert.equal(childCpuSeconds('warning: something\n0m0.004s 0m0.002s\n1m2.500s 0m0.250s\n'), 62.75);
    assert.throws(() => childCpuSeconds('no times here'), /no CPU times/);
  });
});

describe('batchingTargets', () => {
  it("judges issue 11's targets: 3x TorchServe on REST, the unbatched echo ratio on gRPC, 0.7x in-process", () => {
    const all: PeerMeasurement[] = [
      ...measurements().filter((m) => m.contender !== 'echo'),
      { contender: 'echo', path: 'grpc', concurrency: 16, result: summary(2000, 10_000) },
      { contender: 'duoserve_unbatched', path: 'grpc', concurrency: 16, result: summary(1000, 30_000) },
      { contender: 'in_process', path: 'in_process', concurrency: 16, result: summary(1500, 9_000) },
    ];
    const byName = new Map(batchingTargets(all).map((r) => [r.name, r]));
    assert.deepEqual(byName.get('REST req/s duoserve / TorchServe, both batching, c=16')?.met, true); // 3.16
    const echo = byName.get('gRPC req/s duoserve batched / bare grpc-js echo, c=16 (target: the unbatched ratio)')!;
    assert.deepEqual([echo.value, echo.target, echo.met], [0.55, '>= 0.5', true]);
    const inProcess = byName.get('gRPC req/s duoserve batched / in-process batched, c=16')!;
    assert.deepEqual([inProcess.value, inProcess.met], [0.733, true]);
    const unmeasured = batchingTargets(measurements()).find((r) =>
      r.name.startsWith('gRPC req/s duoserve batched / bare'),
    )!;
    assert.deepEqual([unmeasured.target, unmeasured.met], [null, null]);
  });
});

describe('peersTable', () => {
  it("shows duoserve's req/s over each other row's, REST against REST, gRPC against gRPC", () => {
    const lines = peersTable(measurements()).split('\n');
    const row = (server: string, path: string) => lines.find((l) => l.startsWith(path) && l.includes(server))!;
    assert.match(row('TorchServe', 'REST'), /3\.16x$/);
    assert.match(row('bare fastify route', 'REST'), /0\.486x$/);
    assert.match(row('TorchServe', 'gRPC'), /2\.19x$/);
    assert.match(row('bare grpc-js echo', 'gRPC'), /error$/);
    assert.match(lines.at(-1)!, /gRPC c=16 bare grpc-js echo: ghz: no call completed/);
  });
});

describe('mergeRounds', () => {
  it('pools rounds: requests and time add up, the mean is weighted, p50/p99 are the rounds’ mean', () => {
    const [merged] = mergeRounds([
      { contender: 'duoserve', path: 'grpc', concurrency: 16, round: 1, result: summary(100, 4_000) },
      {
        contender: 'duoserve',
        path: 'grpc',
        concurrency: 16,
        round: 2,
        result: { requests: 3000, p50Us: 1_000, p99Us: 2_000, meanUs: 1_000, throughput: 300 },
      },
    ]);
    // 1000 requests in 10 s and 3000 in 10 s: 4000 in 20 s.
    assert.deepEqual(merged, {
      contender: 'duoserve',
      path: 'grpc',
      concurrency: 16,
      result: { requests: 4000, throughput: 200, meanUs: 1250, p50Us: 1500, p99Us: 3000 },
    });
  });

  it('keeps a point that failed in any round as an error, naming the round', () => {
    const merged = mergeRounds([
      { contender: 'torchserve', path: 'rest', concurrency: 64, round: 1, result: summary(100, 4_000) },
      { contender: 'torchserve', path: 'rest', concurrency: 64, round: 2, error: 'wrk: no request completed' },
      { contender: 'echo', path: 'rest', concurrency: 64, round: 1, result: summary(900, 1_000) },
    ]);
    assert.deepEqual(merged[0], {
      contender: 'torchserve',
      path: 'rest',
      concurrency: 64,
      error: 'round 2: wrk: no request completed',
    });
    assert.equal(merged[1].result?.throughput, 900);
  });
});
