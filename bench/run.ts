/**
 * `npm run bench`: duoserve over gRPC and REST against the floors it is judged by (a bare
 * grpc-js echo, a bare fastify route, the same model run in-process), for a tiny and a
 * mid-size model of each framework, plus the cost of the PredictRequest decode it avoids.
 * Prints tables and the target ratios, then the run as JSON (also written to
 * var/bench/last.json). `--help` lists the knobs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { measureDecodeCost, type DecodeCost } from './decode_cost';
import { type DuoserveProcess, startDuoserve } from './duoserve_process';
import { ECHO_PATH, type EchoServers, restEchoPath, startEchoServers } from './echo_servers';
import { PREDICT_PATH, RawGrpcClient } from './grpc_client';
import { loadInProcess } from './in_process';
import { type Call, measure } from './load_loop';
import { type BenchModel, benchModels } from './models';
import { type BenchOptions, parseOptions, REPO_ROOT } from './options';
import { buildPayload, decodeTensorProto, type Payload, predictResponseOutput, restPredictions } from './payloads';
import {
  decodeTable,
  latencyTable,
  type Measurement,
  PATH_LABELS,
  type PathName,
  ratioTable,
  targetRatios,
} from './report';
import { RestClient, predictPath } from './rest_client';
import { assertClose, assertShape, knownAnswer } from './sanity';
import { round } from './stats';

const CONCURRENCIES = [1, 16];

function log(line: string): void {
  console.log(`[bench] ${line}`);
}

class Recorder {
  readonly measurements: Measurement[] = [];

  constructor(private readonly options: BenchOptions) {}

  /** Times `call` at one concurrency; a failure is recorded and the run goes on. */
  async time(model: BenchModel, pathName: PathName, concurrency: number, call: Call): Promise<void> {
    const entry: Measurement = { model: model.name, size: model.size, path: pathName, concurrency };
    this.measurements.push(entry);
    try {
      entry.result = await measure(call, {
        concurrency,
        warmupMs: this.options.warmupMs,
        durationMs: this.options.durationMs,
      });
      const r = entry.result;
      log(
        `${model.name.padEnd(20)} ${PATH_LABELS[pathName].padEnd(18)} c=${String(concurrency).padEnd(2)} ` +
          `p50 ${round(r.p50Us)} µs  p99 ${round(r.p99Us)} µs  ${round(r.throughput)} req/s`,
      );
    } catch (error) {
      entry.error = (error as Error).message;
      log(`${model.name} ${PATH_LABELS[pathName]} c=${concurrency}: FAILED ${entry.error.split('\n')[0]}`);
    }
  }
}

/** Checks each model's gRPC and REST answers; returns the REST bodies for the fastify echo. */
async function checkServedAnswers(
  models: BenchModel[],
  payloads: Map<string, Payload>,
  grpc: RawGrpcClient,
  rest: RestClient,
): Promise<Record<string, string>> {
  const restBodies: Record<string, string> = {};
  const mlpAnswers = new Map<string, ReturnType<typeof predictResponseOutput>>();
  for (const model of models) {
    const payload = payloads.get(model.name)!;
    const viaGrpc = predictResponseOutput(await grpc.call(PREDICT_PATH, payload.predictRequest, 30_000), model.outputAlias);
    const restBody = await rest.post(predictPath(model.name), payload.restBody);
    const viaRest = restPredictions(restBody);
    const known = knownAnswer(model);
    if (known) assertClose(`${model.name} over gRPC`, viaGrpc, known);
    else assertShape(`${model.name} over gRPC`, viaGrpc, model.shape);
    assertClose(`${model.name} over REST vs gRPC`, viaRest, viaGrpc);
    if (model.size === 'mid') mlpAnswers.set(model.name, viaGrpc);
    restBodies[model.name] = restBody.toString('utf8');
  }
  const [first, ...others] = [...mlpAnswers];
  for (const [name, answer] of others) assertClose(`${name} vs ${first[0]} (same MLP)`, answer, first[1]);
  return restBodies;
}

async function measureServer(
  options: BenchOptions,
  models: BenchModel[],
  payloads: Map<string, Payload>,
  recorder: Recorder,
): Promise<{ startupS: number; restResponseBytes: Record<string, number> }> {
  log(`starting bin/duoserve with ${path.relative(REPO_ROOT, options.modelConfigFile)}`);
  const server: DuoserveProcess = await startDuoserve(
    options.modelConfigFile,
    models.map((m) => m.name),
    options.serverArgs,
    options.serverStartTimeoutMs,
    path.dirname(options.out),
  );
  log(`duoserve: every model AVAILABLE after ${round(server.startupS)} s (gRPC ${server.grpcTarget}, REST :${server.restPort})`);
  const grpc = new RawGrpcClient(server.grpcTarget);
  let echo: EchoServers | undefined;
  let echoGrpc: RawGrpcClient | undefined;
  try {
    const checkRest = new RestClient('127.0.0.1', server.restPort, 1);
    const restBodies = await checkServedAnswers(models, payloads, grpc, checkRest).finally(() => checkRest.close());
    log('answers checked (gRPC, REST, and both MLPs agree)');
    echo = await startEchoServers(restBodies);
    echoGrpc = new RawGrpcClient(echo.grpcTarget);

    for (const model of models) {
      const payload = payloads.get(model.name)!;
      for (const concurrency of CONCURRENCIES) {
        await recorder.time(model, 'grpc', concurrency, () => grpc.call(PREDICT_PATH, payload.predictRequest));
        await recorder.time(model, 'grpc_echo', concurrency, () => echoGrpc!.call(ECHO_PATH, payload.predictRequest));
        for (const [pathName, port, urlPath] of [
          ['rest', server.restPort, predictPath(model.name)],
          ['rest_echo', echo.restPort, restEchoPath(model.name)],
        ] as const) {
          const client = new RestClient('127.0.0.1', port, concurrency);
          await recorder.time(model, pathName, concurrency, () => client.post(urlPath, payload.restBody));
          client.close();
        }
      }
    }
    return {
      startupS: round(server.startupS),
      restResponseBytes: Object.fromEntries(Object.entries(restBodies).map(([name, body]) => [name, Buffer.byteLength(body)])),
    };
  } finally {
    grpc.close();
    echoGrpc?.close();
    await echo?.stop();
    await server.stop();
    log('duoserve and echo servers stopped');
  }
}

async function measureInProcess(models: BenchModel[], payloads: Map<string, Payload>, recorder: Recorder): Promise<void> {
  let reference: ReturnType<typeof decodeTensorProto> | undefined;
  for (const model of models) {
    let loaded;
    try {
      loaded = await loadInProcess(model, payloads.get(model.name)!.tensorProto);
      const [[, output]] = await loaded.run();
      const answer = decodeTensorProto(output as Buffer);
      const known = knownAnswer(model);
      if (known) assertClose(`${model.name} in-process`, answer, known);
      else if (reference) assertClose(`${model.name} in-process vs the other MLP`, answer, reference);
      else reference = answer;
    } catch (error) {
      for (const concurrency of CONCURRENCIES) {
        recorder.measurements.push({ model: model.name, size: model.size, path: 'in_process', concurrency, error: String(error) });
      }
      log(`${model.name} in-process: FAILED ${(error as Error).message}`);
      loaded?.unload();
      continue;
    }
    for (const concurrency of CONCURRENCIES) await recorder.time(model, 'in_process', concurrency, loaded.run);
    loaded.unload();
  }
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const options = parseOptions(process.argv.slice(2));
  const models = benchModels(options.modelConfigFile, options.models, options.mlpRows);
  const payloads = new Map(models.map((model) => [model.name, buildPayload(model, options.requestTensor)]));
  log(
    `${options.quick ? 'quick' : 'full'} run: warm-up ${options.warmupMs} ms + ${options.durationMs} ms per measurement, ` +
      `concurrency ${CONCURRENCIES.join(' and ')}, mlp input [${options.mlpRows}, 512], gRPC input as ` +
      `${options.requestTensor === 'content' ? 'tensor_content' : 'float_val'}; ${os.cpus().length} CPUs`,
  );

  const midModel = models.find((m) => m.size === 'mid');
  let decode: DecodeCost[] = [];
  if (midModel) {
    decode = measureDecodeCost(midModel, options.decodeMs);
    log(`decode cost measured on ${midModel.name}'s PredictRequest`);
  }

  const recorder = new Recorder(options);
  let server: Awaited<ReturnType<typeof measureServer>> | { error: string };
  try {
    server = await measureServer(options, models, payloads, recorder);
  } catch (error) {
    server = { error: (error as Error).message };
    log(`server measurements FAILED: ${(error as Error).message}`);
  }
  await measureInProcess(models, payloads, recorder);

  const measurements = recorder.measurements.sort(
    (a, b) =>
      models.findIndex((m) => m.name === a.model) - models.findIndex((m) => m.name === b.model) ||
      a.concurrency - b.concurrency ||
      Object.keys(PATH_LABELS).indexOf(a.path) - Object.keys(PATH_LABELS).indexOf(b.path),
  );
  const ratios = targetRatios(measurements, models);
  const decodeWhat = midModel ? `${midModel.name} [${midModel.shape}]` : '';

  console.log('\nLatency and throughput (closed loops; µs per request, requests per second)');
  console.log(latencyTable(measurements));
  console.log('\nTargets');
  console.log(ratioTable(ratios));
  if (decode.length) {
    console.log('\nPredictRequest decode in TypeScript: envelope only (as served) vs full protobufjs decode');
    console.log(decodeTable(decode, decodeWhat));
  }

  const result = {
    date: new Date().toISOString(),
    host: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, platform: `${os.platform()} ${os.release()}` },
    options: {
      quick: options.quick,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      concurrencies: CONCURRENCIES,
      mlpRows: options.mlpRows,
      requestTensor: options.requestTensor,
      serverArgs: options.serverArgs,
    },
    requests: Object.fromEntries(
      models.map((m) => [
        m.name,
        { size: m.size, shape: m.shape, grpcBytes: payloads.get(m.name)!.predictRequest.length, restBytes: payloads.get(m.name)!.restBody.length },
      ]),
    ),
    server,
    measurements: measurements.map((m) => ({ ...m, result: m.result && roundAll(m.result) })),
    ratios,
    decode: midModel ? { request: decodeWhat, cases: decode } : null,
    totalS: round(Number(process.hrtime.bigint() - started) / 1e9),
  };
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nJSON (also in ${path.relative(process.cwd(), options.out) || options.out}):`);
  console.log(JSON.stringify(result));
  log(`done in ${result.totalS} s`);
  if ('error' in server) process.exitCode = 1;
}

function roundAll<T extends object>(values: T): T {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v])) as T;
}

// Interrupted runs still reach the 'exit' handlers that stop the child processes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((error) => {
  console.error(`[bench] ${(error as Error).stack ?? error}`);
  process.exit(1);
});
