/**
 * What request logging costs on the hot path: Predict on one bin/duoserve serving the same
 * SavedModel (half_plus_two) twice, as `plain` (no logging_config) and `logged` (sampling_rate
 * 1.0, every request written to a TFRecord file), over gRPC and REST, timed in interleaved
 * rounds (load_loop.ts). Prints one JSON object: each path's latency summary, the logged
 * paths' cost over the plain ones, and how many records reached the files.
 *   node dist/bench/request_logging.js [--duration_ms=8000] [--concurrency=4] [--rounds=4]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Protos } from '../src/protos';
import { readTFRecords } from '../src/servables/warmup/tfrecord_reader';
import { startDuoserve } from './duoserve_process';
import { PREDICT_PATH, RawGrpcClient } from './grpc_client';
import { measureInterleaved } from './load_loop';
import { REPO_ROOT } from './options';
import { predictPath, RestClient } from './rest_client';
import { round, type LatencySummary } from './stats';

function flag(name: string, fallback: number): number {
  const given = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return given ? Number(given.split('=')[1]) : fallback;
}

async function main() {
  const shape = {
    concurrency: flag('concurrency', 4),
    warmupMs: 1000,
    durationMs: flag('duration_ms', 8000),
    rounds: flag('rounds', 4),
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-bench-request-log-'));
  const prefix = path.join(dir, 'logged');
  const base = path.join(REPO_ROOT, 'var', 'models', 'examples', 'half_plus_two');
  const config = path.join(dir, 'models.config');
  fs.writeFileSync(
    config,
    `model_config_list {
  config { name: "plain" base_path: "${base}" model_platform: "tensorflow" }
  config { name: "logged" base_path: "${base}" model_platform: "tensorflow"
    logging_config { log_collector_config { type: "tfrecord" filename_prefix: "${prefix}" }
                     sampling_config { sampling_rate: 1.0 } } }
}
`,
  );
  const server = await startDuoserve(config, ['plain', 'logged'], [], 120_000, path.join(REPO_ROOT, 'var', 'bench'));
  const grpc = new RawGrpcClient(server.grpcTarget);
  const rest = new RestClient('127.0.0.1', server.restPort, shape.concurrency);
  const grpcRequest = (name: string) =>
    Buffer.from(
      Protos.PredictRequest.encode(
        Protos.PredictRequest.fromObject({
          model_spec: { name },
          inputs: { x: { dtype: 1, tensor_shape: { dim: [{ size: 3 }] }, float_val: [1, 2, 5] } },
        }),
      ).finish(),
    );
  const restBody = Buffer.from(JSON.stringify({ instances: [1, 2, 5] }));
  const paths = {
    grpc_plain: grpcRequest('plain'),
    grpc_logged: grpcRequest('logged'),
  };
  const names = ['grpc_plain', 'grpc_logged', 'rest_plain', 'rest_logged'] as const;
  let results: Array<LatencySummary | Error>;
  try {
    results = await measureInterleaved(
      [
        () => grpc.call(PREDICT_PATH, paths.grpc_plain),
        () => grpc.call(PREDICT_PATH, paths.grpc_logged),
        () => rest.post(predictPath('plain'), restBody),
        () => rest.post(predictPath('logged'), restBody),
      ],
      shape,
    );
  } finally {
    grpc.close();
    rest.close();
    await server.stop(); // SIGTERM: the files are written and closed
  }
  let records = 0;
  for (const file of fs.readdirSync(dir).filter((name) => name.startsWith('logged.'))) {
    for await (const _ of readTFRecords(path.join(dir, file))) records++;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const byName = Object.fromEntries(names.map((name, i) => [name, results[i]]));
  const cost = (plain: LatencySummary | Error, logged: LatencySummary | Error) =>
    plain instanceof Error || logged instanceof Error
      ? null
      : {
          meanUs: round(logged.meanUs - plain.meanUs),
          p50Us: round(logged.p50Us - plain.p50Us),
          throughputRatio: round(logged.throughput / plain.throughput),
        };
  const loggedRequests = [results[1], results[3]].reduce(
    (sum, result) => sum + (result instanceof Error ? 0 : result.requests),
    0,
  );
  console.log(
    JSON.stringify(
      {
        shape,
        loadavg: os.loadavg().map(round),
        results: byName,
        cost: { grpc: cost(results[0], results[1]), rest: cost(results[2], results[3]) },
        // The warm-up's requests are logged too, so the files hold more than the timed count.
        records: { written: records, timedLoggedRequests: loggedRequests },
      },
      (_key, value: unknown) => (value instanceof Error ? value.message : value),
      2,
    ),
  );
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
