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
import { type InProcessModel, loadInProcess, useServerThreadBudget } from './in_process';
import { type Call, measureInterleaved } from './load_loop';
import { type BenchModel, benchModels } from './models';
import { type BenchOptions, parseOptions, REPO_ROOT } from './options';
import {
  buildPayload,
  decodeTensorProto,
  type DenseTensor,
  type Payload,
  predictResponseOutput,
  restPredictions,
} from './payloads';
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

interface InProcessEntry {
  model: InProcessModel;
  answer: DenseTensor;
}

/** Loads every model in this process and checks its answer; a failure is kept, not thrown. */
async function loadInProcessModels(
  models: BenchModel[],
  payloads: Map<string, Payload>,
): Promise<Map<string, InProcessEntry | Error>> {
  const loaded = new Map<string, InProcessEntry | Error>();
  let mlpReference: [string, DenseTensor] | undefined;
  for (const model of models) {
    let inProcess: InProcessModel | undefined;
    try {
      inProcess = await loadInProcess(model, payloads.get(model.name)!.tensorProto);
      const [[, output]] = await inProcess.run();
      const answer = decodeTensorProto(output as Buffer);
      const known = knownAnswer(model);
      if (known) assertClose(`${model.name} in-process`, answer, known);
      else if (mlpReference)
        assertClose(`${model.name} in-process vs ${mlpReference[0]} (same MLP)`, answer, mlpReference[1]);
      else {
        assertShape(`${model.name} in-process`, answer, model.shape);
        mlpReference = [model.name, answer];
      }
      loaded.set(model.name, { model: inProcess, answer });
    } catch (error) {
      inProcess?.unload();
      loaded.set(model.name, error as Error);
      log(`${model.name} in-process: FAILED ${(error as Error).message}`);
    }
  }
  return loaded;
}

interface Serving {
  server: DuoserveProcess;
  grpc: RawGrpcClient;
  echo: EchoServers;
  echoGrpc: RawGrpcClient;
  restResponseBytes: Record<string, number>;
  stop(): Promise<void>;
}

/** Checks each model's gRPC and REST answers; returns the REST bodies for the fastify echo. */
async function checkServedAnswers(
  models: BenchModel[],
  payloads: Map<string, Payload>,
  inProcess: Map<string, InProcessEntry | Error>,
  grpc: RawGrpcClient,
  rest: RestClient,
): Promise<Record<string, string>> {
  const restBodies: Record<string, string> = {};
  const mlpAnswers: Array<[string, DenseTensor]> = [];
  for (const model of models) {
    const payload = payloads.get(model.name)!;
    const viaGrpc = predictResponseOutput(
      await grpc.call(PREDICT_PATH, payload.predictRequest, 30_000),
      model.outputAlias,
    );
    const restBody = await rest.post(predictPath(model.name), payload.restBody);
    const known = knownAnswer(model);
    if (known) assertClose(`${model.name} over gRPC`, viaGrpc, known);
    else assertShape(`${model.name} over gRPC`, viaGrpc, model.shape);
    assertClose(`${model.name} over REST vs gRPC`, restPredictions(restBody), viaGrpc);
    const local = inProcess.get(model.name);
    if (local && !(local instanceof Error)) assertClose(`${model.name} over gRPC vs in-process`, viaGrpc, local.answer);
    if (model.size === 'mid') mlpAnswers.push([model.name, viaGrpc]);
    restBodies[model.name] = restBody.toString('utf8');
  }
  const [first, ...others] = mlpAnswers;
  for (const [name, answer] of others) assertClose(`${name} vs ${first[0]} over gRPC (same MLP)`, answer, first[1]);
  return restBodies;
}

async function startServing(
  options: BenchOptions,
  models: BenchModel[],
  payloads: Map<string, Payload>,
  inProcess: Map<string, InProcessEntry | Error>,
): Promise<Serving> {
  log(`starting bin/duoserve with ${path.relative(REPO_ROOT, options.modelConfigFile)}`);
  const server = await startDuoserve(
    options.modelConfigFile,
    models.map((m) => m.name),
    options.serverArgs,
    options.serverStartTimeoutMs,
    path.dirname(options.out),
  );
  log(
    `duoserve: every model AVAILABLE after ${round(server.startupS)} s (gRPC ${server.grpcTarget}, REST :${server.restPort})`,
  );
  const grpc = new RawGrpcClient(server.grpcTarget);
  const checkRest = new RestClient('127.0.0.1', server.restPort, 1);
  try {
    const restBodies = await checkServedAnswers(models, payloads, inProcess, grpc, checkRest);
    log('answers checked: known values, gRPC = REST = in-process, both MLPs agree');
    const echo = await startEchoServers(restBodies);
    const echoGrpc = new RawGrpcClient(echo.grpcTarget);
    return {
      server,
      grpc,
      echo,
      echoGrpc,
      restResponseBytes: Object.fromEntries(
        Object.entries(restBodies).map(([name, body]) => [name, Buffer.byteLength(body)]),
      ),
      stop: async () => {
        grpc.close();
        echoGrpc.close();
        await echo.stop();
        await server.stop();
      },
    };
  } catch (error) {
    grpc.close();
    await server.stop();
    throw error;
  } finally {
    checkRest.close();
  }
}

interface Contender {
  path: PathName;
  call: Call;
  close?: () => void;
}

function contenders(
  model: BenchModel,
  payload: Payload,
  concurrency: number,
  serving: Serving | undefined,
  inProcess: InProcessEntry | Error | undefined,
): Contender[] {
  const list: Contender[] = [];
  if (serving) {
    const { grpc, echoGrpc, server, echo } = serving;
    list.push({ path: 'grpc', call: () => grpc.call(PREDICT_PATH, payload.predictRequest) });
    list.push({ path: 'grpc_echo', call: () => echoGrpc.call(ECHO_PATH, payload.predictRequest) });
    const rest = new RestClient('127.0.0.1', server.restPort, concurrency);
    const restEcho = new RestClient('127.0.0.1', echo.restPort, concurrency);
    list.push({
      path: 'rest',
      call: () => rest.post(predictPath(model.name), payload.restBody),
      close: () => rest.close(),
    });
    list.push({
      path: 'rest_echo',
      call: () => restEcho.post(restEchoPath(model.name), payload.restBody),
      close: () => restEcho.close(),
    });
  }
  if (inProcess && !(inProcess instanceof Error)) list.push({ path: 'in_process', call: inProcess.model.run });
  return list;
}

async function measureAll(
  options: BenchOptions,
  models: BenchModel[],
  payloads: Map<string, Payload>,
  serving: Serving | undefined,
  inProcess: Map<string, InProcessEntry | Error>,
): Promise<Measurement[]> {
  const measurements: Measurement[] = [];
  for (const model of models) {
    for (const concurrency of CONCURRENCIES) {
      const local = inProcess.get(model.name);
      const list = contenders(model, payloads.get(model.name)!, concurrency, serving, local);
      const results = await measureInterleaved(
        list.map((c) => c.call),
        { concurrency, warmupMs: options.warmupMs, durationMs: options.durationMs, rounds: options.rounds },
      );
      for (const contender of list) contender.close?.();
      for (const [i, { path: pathName }] of list.entries()) {
        const result = results[i];
        const entry: Measurement = { model: model.name, size: model.size, path: pathName, concurrency };
        if (result instanceof Error) entry.error = result.message;
        else entry.result = result;
        measurements.push(entry);
        log(
          `${model.name.padEnd(20)} ${PATH_LABELS[pathName].padEnd(18)} c=${String(concurrency).padEnd(2)} ` +
            (result instanceof Error
              ? `FAILED ${result.message.split('\n')[0]}`
              : `p50 ${round(result.p50Us)} µs  p99 ${round(result.p99Us)} µs  ${round(result.throughput)} req/s`),
        );
      }
      const missing: string[] = [];
      if (!serving) missing.push('grpc', 'grpc_echo', 'rest', 'rest_echo');
      if (local instanceof Error) missing.push('in_process');
      for (const pathName of missing as PathName[]) {
        const why = pathName === 'in_process' ? (local as Error).message : 'the server did not start';
        measurements.push({ model: model.name, size: model.size, path: pathName, concurrency, error: why });
      }
    }
  }
  return measurements;
}

/**
 * The in-process runs use libuv's pool as duoserve does (src/main.ts sizes it the same way);
 * it must be sized before its first use.
 */
async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  useServerThreadBudget();
  // TensorFlow's INFO and WARNING lines (load steps, CPU features) would bury the tables.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const options = parseOptions(process.argv.slice(2));
  const models = benchModels(options.modelConfigFile, options.models, options.mlpRows);
  const payloads = new Map(models.map((model) => [model.name, buildPayload(model, options.requestTensor)]));
  log(
    `${options.quick ? 'quick' : 'full'} run: per path, warm-up ${options.warmupMs} ms + ${options.durationMs} ms in ` +
      `${options.rounds} interleaved round(s), ` +
      `concurrency ${CONCURRENCIES.join(' and ')}, mlp input [${options.mlpRows}, 512], gRPC input as ` +
      `${options.requestTensor === 'content' ? 'tensor_content' : 'float_val'}; ${os.cpus().length} CPUs`,
  );

  const midModel = models.find((m) => m.size === 'mid');
  let decode: DecodeCost[] = [];
  if (midModel) {
    decode = measureDecodeCost(midModel, options.decodeMs);
    log(`decode cost measured on ${midModel.name}'s PredictRequest`);
  }

  const inProcess = await loadInProcessModels(models, payloads);
  log(
    `in-process: ${[...inProcess].filter(([, v]) => !(v instanceof Error)).length} of ${models.length} models loaded`,
  );
  let serving: Serving | undefined;
  let serverError: string | undefined;
  try {
    serving = await startServing(options, models, payloads, inProcess);
  } catch (error) {
    serverError = (error as Error).message;
    log(`server measurements FAILED: ${serverError}`);
  }
  let measurements: Measurement[];
  try {
    measurements = await measureAll(options, models, payloads, serving, inProcess);
  } finally {
    await serving?.stop();
    for (const entry of inProcess.values()) if (!(entry instanceof Error)) entry.model.unload();
    log('servers stopped, in-process models unloaded');
  }
  measurements.sort(
    (a, b) =>
      models.findIndex((m) => m.name === a.model) - models.findIndex((m) => m.name === b.model) ||
      a.concurrency - b.concurrency ||
      Object.keys(PATH_LABELS).indexOf(a.path) - Object.keys(PATH_LABELS).indexOf(b.path),
  );
  const ratios = targetRatios(measurements, models);
  const decodeWhat = midModel ? `${midModel.name} [${midModel.shape}]` : '';

  console.log('\nPayloads (the echoes get the same request bytes; the fastify echo answers the same body size):');
  for (const m of models) {
    const payload = payloads.get(m.name)!;
    console.log(
      `  ${m.name.padEnd(20)} x [${m.shape}] float32: gRPC request ${payload.predictRequest.length} B, REST body ` +
        `${payload.restBody.length} B, REST answer ${serving?.restResponseBytes[m.name] ?? '?'} B`,
    );
  }
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
    host: {
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      platform: `${os.platform()} ${os.release()}`,
    },
    options: {
      quick: options.quick,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      rounds: options.rounds,
      concurrencies: CONCURRENCIES,
      mlpRows: options.mlpRows,
      requestTensor: options.requestTensor,
      serverArgs: options.serverArgs,
    },
    requests: Object.fromEntries(
      models.map((m) => [
        m.name,
        {
          size: m.size,
          shape: m.shape,
          grpcBytes: payloads.get(m.name)!.predictRequest.length,
          restBytes: payloads.get(m.name)!.restBody.length,
        },
      ]),
    ),
    server: serving
      ? {
          startupS: round(serving.server.startupS),
          restResponseBytes: serving.restResponseBytes,
          log: serving.server.logPath,
        }
      : { error: serverError },
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
  if (serverError) process.exitCode = 1;
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
