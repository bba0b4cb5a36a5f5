/**
 * `npm run bench:peers`: duoserve against TorchServe on the same TorchScript MLP, one server at
 * a time, both driven by the same independent load generators (wrk over REST, ghz over gRPC on
 * one connection), beside the floors: the bare echo servers (same generators, same bytes) and
 * the in-process addon call. Answers are checked before anything is timed. Prints one table and
 * issue 9's targets (issue 11's with --batching: both servers batch with the same limits, duoserve
 * is measured unbatched too, and the in-process call goes through the server's batch scheduler);
 * writes the run to var/bench/peers.json. `--help` lists the knobs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDuoserve } from '../duoserve_process';
import { ECHO_PATH, restEchoPath, startEchoServers } from '../echo_servers';
import { PREDICT_PATH, RawGrpcClient } from '../grpc_client';
import { readBatchingParametersFile } from '../../src/batching/batching_parameters';
import { loadInProcess, loadInProcessBatched, useServerThreadBudget } from '../in_process';
import { measureInterleaved } from '../load_loop';
import { type BenchModel, benchModels } from '../models';
import { REPO_ROOT } from '../options';
import { loadAverages, ratioTable } from '../report';
import {
  buildPayload,
  decodeTensorProto,
  type DenseTensor,
  type Payload,
  predictResponseOutput,
  restPredictions,
} from '../payloads';
import { RestClient, predictPath } from '../rest_client';
import { assertClose } from '../sanity';
import { type LatencySummary, round } from '../stats';
import { type GhzCall, type LoadPoint, PEERS_DIR, runGhz, runWrk } from './load_generators';
import { type Contender, parsePeersOptions, type PeersOptions, ROWS_PER_REQUEST } from './options';
import {
  type PeerMeasurement,
  type RoundMeasurement,
  contenderLabel,
  batchingTargets,
  mergeRounds,
  peersTable,
  peerTargets,
} from './report';
import {
  checkProtoAgainstTorchServe,
  type PeerTools,
  PREDICTIONS_METHOD,
  PredictionResponse,
  PredictionsRequest,
  startTorchServe,
} from './torchserve';

const MODEL_NAME = 'mlp_torch';
const ROWS = ROWS_PER_REQUEST;
const WIDTH = 512;
const BENCH_PROTO_DIR = path.join(REPO_ROOT, 'bench', 'protos');
const WORK_DIR = path.join(REPO_ROOT, 'var/bench/peers');
const PEERS_ROOT = path.join(REPO_ROOT, 'var/peers');

function log(line: string): void {
  console.log(`[peers] ${line}`);
}

interface RequestFiles {
  restBody: string;
  predictRequest: string;
  torchServeRequest: string;
}

/** The request bytes every generator sends, written once: the same input for every server. */
function writeRequests(model: BenchModel, payload: Payload): { files: RequestFiles; torchServeRequest: Buffer } {
  fs.mkdirSync(WORK_DIR, { recursive: true });
  const values = model.values;
  const torchServeRequest = Buffer.from(
    PredictionsRequest.encode(
      PredictionsRequest.fromObject({
        model_name: MODEL_NAME,
        input: { tensor: Buffer.from(values.buffer, values.byteOffset, values.byteLength) },
      }),
    ).finish(),
  );
  const files = {
    restBody: path.join(WORK_DIR, 'request.json'),
    predictRequest: path.join(WORK_DIR, 'predict_request.bin'),
    torchServeRequest: path.join(WORK_DIR, 'torchserve_request.bin'),
  };
  fs.writeFileSync(files.restBody, payload.restBody);
  fs.writeFileSync(files.predictRequest, payload.predictRequest);
  fs.writeFileSync(files.torchServeRequest, torchServeRequest);
  return { files, torchServeRequest };
}

/** Only mlp_torch, from this checkout's exported examples (scripts/export_models.py). */
function modelConfig(): string {
  const basePath = path.join(REPO_ROOT, 'var/models/examples', MODEL_NAME);
  if (!fs.existsSync(basePath)) throw new Error(`${basePath} is missing: run npm run setup (it exports the examples)`);
  const file = path.join(WORK_DIR, 'models.config');
  fs.mkdirSync(WORK_DIR, { recursive: true });
  fs.writeFileSync(
    file,
    `model_config_list {\n  config {\n    name: "${MODEL_NAME}"\n    base_path: "${basePath}"\n    model_platform: "pytorch"\n  }\n}\n`,
  );
  return file;
}

class Run {
  readonly measurements: RoundMeasurement[] = [];
  readonly checks = new Set<string>();
  readonly phases: Array<Record<string, unknown>> = [];
  round = 0;

  constructor(readonly options: PeersOptions) {}

  record(
    contender: Contender,
    pathName: PeerMeasurement['path'],
    concurrency: number,
    outcome: LatencySummary | Error,
  ) {
    const entry: RoundMeasurement = { contender, path: pathName, concurrency, round: this.round };
    if (outcome instanceof Error) entry.error = outcome.message;
    else entry.result = outcome;
    this.measurements.push(entry);
    log(
      `round ${this.round} ${contenderLabel(contender, pathName).padEnd(22)} ${pathName.padEnd(10)} c=${String(concurrency).padEnd(3)} ` +
        (outcome instanceof Error
          ? `FAILED ${outcome.message.split('\n')[0].slice(0, 300)}`
          : `${round(outcome.throughput)} req/s  p50 ${round(outcome.p50Us)} µs  p99 ${round(outcome.p99Us)} µs`),
    );
  }

  /** Every point of one server over the paths asked for; a point that fails is kept as an error. */
  async measureServer(
    contender: Contender,
    tools: PeerTools,
    rest: { url: string; bodyFile: string },
    grpc: GhzCall,
  ): Promise<void> {
    for (const pathName of this.options.paths) {
      for (const concurrency of this.options.concurrencies) {
        const point: LoadPoint = { concurrency, warmupS: this.options.warmupS, durationS: this.options.durationS };
        let outcome: LatencySummary | Error;
        try {
          outcome =
            pathName === 'rest'
              ? await runWrk(path.join(tools.bin, 'wrk'), rest.url, rest.bodyFile, point)
              : await runGhz(path.join(tools.bin, 'ghz'), grpc, point);
        } catch (error) {
          outcome = error as Error;
        }
        this.record(contender, pathName, concurrency, outcome);
      }
    }
  }

  /** Runs a phase; its failure is recorded for every point it would have measured. */
  async phase(contender: Contender, body: () => Promise<Record<string, unknown>>): Promise<void> {
    if (!this.options.contenders.includes(contender)) return;
    log(`round ${this.round}: ${contender} starting (load ${loadAverages()})`);
    const started = Date.now();
    const phase = { contender, round: this.round, loadBefore: loadAverages() };
    try {
      this.phases.push({
        ...phase,
        ...(await body()),
        loadAfter: loadAverages(),
        seconds: (Date.now() - started) / 1000,
      });
    } catch (error) {
      const message = (error as Error).message;
      log(`round ${this.round}: ${contender} FAILED ${message}`);
      this.phases.push({ ...phase, error: message });
      const paths: PeerMeasurement['path'][] = contender === 'in_process' ? ['in_process'] : this.options.paths;
      for (const pathName of paths)
        for (const concurrency of this.options.concurrencies)
          if (
            !this.measurements.some(
              (m) =>
                m.round === this.round &&
                m.contender === contender &&
                m.path === pathName &&
                m.concurrency === concurrency,
            )
          )
            this.measurements.push({ contender, path: pathName, concurrency, round: this.round, error: message });
    }
  }

  check(what: string, actual: DenseTensor, expected: DenseTensor): void {
    assertClose(what, actual, expected);
    this.checks.add(what);
  }

  /**
   * With batching: ROWS REST requests at once, request i holding the input's rows rotated by i,
   * each answered with the reference's rows rotated alike (the MLP maps each row on its own), so
   * that a server that merged or split a batch wrongly answers someone else's rows.
   */
  async checkConcurrent(what: string, url: string, model: BenchModel, reference: DenseTensor): Promise<void> {
    if (!this.options.batching) return;
    const answers = await Promise.all(
      Array.from({ length: ROWS }, async (_, by) => {
        const body = buildPayload({ ...model, values: rotateRows(model.values, by) }, 'content').restBody;
        const reply = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = Buffer.from(await reply.arrayBuffer());
        if (reply.status !== 200) throw new Error(`${what}: HTTP ${reply.status} ${text.toString().slice(0, 300)}`);
        return restPredictions(text);
      }),
    );
    for (const [by, answer] of answers.entries())
      assertClose(`${what}, request ${by}`, answer, { ...reference, values: rotateRows(reference.values, by) });
    this.checks.add(what);
  }
}

/** The rows of a [ROWS, WIDTH] tensor, rotated by `by` rows. */
function rotateRows(values: Float32Array, by: number): Float32Array {
  const split = (by % ROWS) * WIDTH;
  const rotated = new Float32Array(values.length);
  rotated.set(values.subarray(split));
  rotated.set(values.subarray(0, split), values.length - split);
  return rotated;
}

function installPeers(options: PeersOptions): void {
  if (options.skipInstall) return;
  execFileSync('bash', [path.join(PEERS_DIR, 'install.sh')], { stdio: 'inherit' });
}

function requireTools(tools: PeerTools, names: string[]): void {
  const missing = names.filter((name) => !fs.existsSync(name.includes('/') ? name : path.join(tools.bin, name)));
  if (missing.length > 0)
    throw new Error(`missing in var/peers: ${missing.join(', ')} (run without --skip-install: bench/peers/install.sh)`);
}

async function main(): Promise<void> {
  useServerThreadBudget();
  const started = process.hrtime.bigint();
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const options = parsePeersOptions(process.argv.slice(2));
  const run = new Run(options);
  installPeers(options);
  const tools: PeerTools = { venv: path.join(PEERS_ROOT, 'venv'), bin: path.join(PEERS_ROOT, 'bin') };
  const generators = [
    ...(options.paths.includes('rest') ? ['wrk'] : []),
    ...(options.paths.includes('grpc') ? ['ghz'] : []),
  ];
  requireTools(tools, generators);

  const configFile = modelConfig();
  const [model] = benchModels(configFile, [MODEL_NAME], ROWS);
  const payload = buildPayload(model, 'content');
  const { files, torchServeRequest } = writeRequests(model, payload);
  const servers = options.contenders.filter((c) => c !== 'in_process').length;
  const inProcessPoints = options.contenders.includes('in_process') ? options.concurrencies.length : 0;
  const points = options.paths.length * options.concurrencies.length * servers + inProcessPoints;
  const pointS = options.warmupS + options.durationS + 1;
  log(
    `${points} points x ${options.rounds} round(s) of ${options.warmupS} s warm-up + ${options.durationS} s (about ` +
      `${Math.ceil((points * options.rounds * pointS) / 60)} min plus server start-ups); ` +
      `${os.cpus().length} CPUs, load ${loadAverages()}; TorchServe ${JSON.stringify(options.torchserve)}`,
  );
  const batchingArgs: string[] = [];
  const parametersFile = path.join(WORK_DIR, 'batching_parameters.pbtxt');
  if (options.batchingParameters !== null) {
    fs.writeFileSync(parametersFile, options.batchingParameters);
    batchingArgs.push('--enable_batching=true', `--batching_parameters_file=${parametersFile}`);
    log(
      `batching ON: TorchServe batchSize ${options.torchserve.batchSize}, maxBatchDelay ` +
        `${options.torchserve.maxBatchDelayMs} ms; duoserve ${options.batchingParameters.trim().replace(/\n/g, ', ')}`,
    );
  }

  // The reference answer, from the addon in this process; unloaded before any server runs.
  const inProcess = await loadInProcess(model, payload.tensorProto);
  const reference = decodeTensorProto((await inProcess.run())[0][1] as Buffer);
  // With batching, the in-process contender is the server's batching in this process.
  const batchedInProcess = options.batching
    ? await loadInProcessBatched(model, payload.tensorProto, readBatchingParametersFile(parametersFile))
    : undefined;
  if (batchedInProcess)
    run.check(
      'in-process batched vs in-process',
      decodeTensorProto((await batchedInProcess.run()).get(model.outputAlias) as Buffer),
      reference,
    );
  const inProcessCall = batchedInProcess ? batchedInProcess.run : inProcess.run;
  for (run.round = 1; run.round <= options.rounds; run.round++) {
    await run.phase('in_process', async () => {
      for (const concurrency of options.concurrencies) {
        const [outcome] = await measureInterleaved([inProcessCall], {
          concurrency,
          warmupMs: options.warmupS * 1000,
          durationMs: options.durationS * 1000,
          rounds: 1,
        });
        run.record('in_process', 'in_process', concurrency, outcome);
      }
      return {};
    });

    let duoserveRestBody = JSON.stringify({ predictions: [] });
    const duoserveGrpc = (target: string): GhzCall => ({
      // TF-Serving's messages with their fields left as bytes (the same bytes on the wire): with
      // the full protos ghz spends 1.4-1.8 ms of CPU per call building and parsing 4,096 floats,
      // several times the server's, and on 2 cores measures itself (bench/grpc_ceiling.ts).
      proto: path.join(BENCH_PROTO_DIR, 'opaque_predict.proto'),
      importPaths: [BENCH_PROTO_DIR],
      method: 'tensorflow.serving.PredictionService.Predict',
      binaryFile: files.predictRequest,
      target,
    });
    const duoservePhase = (contender: 'duoserve' | 'duoserve_unbatched', serverArgs: string[]) =>
      run.phase(contender, async () => {
        const server = await startDuoserve(configFile, [MODEL_NAME], serverArgs, 180_000, WORK_DIR);
        log(
          `duoserve: AVAILABLE after ${round(server.startupS)} s (gRPC ${server.grpcTarget}, REST :${server.restPort})`,
        );
        try {
          const grpc = new RawGrpcClient(server.grpcTarget);
          const rest = new RestClient('127.0.0.1', server.restPort, 1);
          try {
            run.check(
              `${contender} gRPC vs in-process`,
              predictResponseOutput(await grpc.call(PREDICT_PATH, payload.predictRequest, 30_000), model.outputAlias),
              reference,
            );
            const body = await rest.post(predictPath(MODEL_NAME), payload.restBody);
            run.check(`${contender} REST vs in-process`, restPredictions(body), reference);
            duoserveRestBody = body.toString('utf8');
            await run.checkConcurrent(
              `${contender}: ${ROWS} concurrent REST requests of different rows`,
              `http://127.0.0.1:${server.restPort}${predictPath(MODEL_NAME)}`,
              model,
              reference,
            );
          } finally {
            grpc.close();
            rest.close();
          }
          await run.measureServer(
            contender,
            tools,
            { url: `http://127.0.0.1:${server.restPort}${predictPath(MODEL_NAME)}`, bodyFile: files.restBody },
            duoserveGrpc(server.grpcTarget),
          );
          return { startupS: round(server.startupS), log: server.logPath, serverArgs };
        } finally {
          await server.stop();
        }
      });
    await duoservePhase('duoserve', [...batchingArgs, ...options.serverArgs]);
    await duoservePhase('duoserve_unbatched', options.serverArgs);

    await run.phase('echo', async () => {
      // The REST echo answers duoserve's recorded answer (or, without duoserve, the same rows as JSON).
      if (!options.contenders.includes('duoserve'))
        duoserveRestBody = JSON.stringify({ predictions: nestedRows(reference) });
      const echo = await startEchoServers({ [MODEL_NAME]: duoserveRestBody });
      try {
        await run.measureServer(
          'echo',
          tools,
          { url: `http://127.0.0.1:${echo.restPort}${restEchoPath(MODEL_NAME)}`, bodyFile: files.restBody },
          {
            proto: path.join(PEERS_DIR, 'echo.proto'),
            importPaths: [BENCH_PROTO_DIR, PEERS_DIR],
            method: ECHO_PATH.slice(1).replace('/', '.'),
            binaryFile: files.predictRequest,
            target: echo.grpcTarget,
          },
        );
        return { restAnswerBytes: Buffer.byteLength(duoserveRestBody) };
      } finally {
        await echo.stop();
      }
    });

    await run.phase('torchserve', async () => {
      requireTools(tools, ['java', path.join(tools.venv, 'bin', 'torchserve')]);
      await checkProtoAgainstTorchServe(tools);
      run.checks.add("torchserve_inference.proto vs TorchServe's compiled descriptor");
      const server = await startTorchServe(
        tools,
        MODEL_NAME,
        path.join(model.versionDir, 'model.pt'),
        options.torchserve,
        WIDTH,
        path.join(WORK_DIR, 'torchserve'),
      );
      log(`TorchServe: ${options.torchserve.workers} worker(s) READY after ${round(server.startupS)} s`);
      try {
        const grpc = new RawGrpcClient(server.grpcTarget);
        try {
          const reply = await fetch(server.restUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: payload.restBody,
          });
          const body = Buffer.from(await reply.arrayBuffer());
          if (reply.status !== 200)
            throw new Error(`TorchServe REST: HTTP ${reply.status} ${body.toString().slice(0, 300)}`);
          run.check('TorchServe REST vs in-process', restPredictions(body), reference);
          await run.checkConcurrent(
            `TorchServe: ${ROWS} concurrent REST requests of different rows`,
            server.restUrl,
            model,
            reference,
          );
          const grpcPath = `/${PREDICTIONS_METHOD.replace(/\.(\w+)$/, '/$1')}`;
          const response = PredictionResponse.toObject(
            PredictionResponse.decode(await grpc.call(grpcPath, torchServeRequest, 30_000)),
            {
              bytes: Buffer,
            },
          ) as { prediction: Buffer };
          const values = new Float32Array(Uint8Array.from(response.prediction).buffer);
          run.check('TorchServe gRPC vs in-process', { shape: [values.length / WIDTH, WIDTH], values }, reference);
        } finally {
          grpc.close();
        }
        await run.measureServer(
          'torchserve',
          tools,
          { url: server.restUrl, bodyFile: files.restBody },
          {
            proto: path.join(PEERS_DIR, 'torchserve_inference.proto'),
            importPaths: [PEERS_DIR],
            method: PREDICTIONS_METHOD,
            binaryFile: files.torchServeRequest,
            target: server.grpcTarget,
          },
        );
        return { startupS: round(server.startupS), log: server.logPath, tuning: options.torchserve };
      } finally {
        await server.stop();
      }
    });
  }
  inProcess.unload();
  batchedInProcess?.unload();

  const merged = mergeRounds(run.measurements);
  const targets = options.batching ? batchingTargets(merged) : peerTargets(merged);
  console.log(
    `\nmlp_torch, x float32 [${ROWS}, ${WIDTH}]; REST: wrk -t1, c connections; gRPC: ghz, c concurrent calls over ` +
      `one connection (--cpus=1); in-process: c concurrent ${options.batching ? "callers of the server's batching (scheduler + runBatch)" : 'addon calls'}. Each point: ${options.rounds} round(s) of ` +
      `${options.durationS} s pooled (p50, p99: the rounds' mean). Load average at the end: ${loadAverages()}`,
  );
  console.log(peersTable(merged));
  console.log(
    options.batching
      ? '\nTargets (issue 11: both servers batching with the same limits; the gRPC target is the unbatched ratio of this run)'
      : '\nTargets (issue 9, set for neither server batching)',
  );
  console.log(ratioTable(targets));
  console.log(
    '\ngenerator CPU µs/req: what the load generator itself spent (user + system CPU, bash `times`) per ' +
      'completed request; it shares the cores with the server',
  );
  console.log(`\nanswers checked (tolerance 1e-4): ${[...run.checks].join('; ') || 'none'}`);

  const result = {
    date: new Date().toISOString(),
    host: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAtEnd: loadAverages() },
    model: { name: MODEL_NAME, shape: [ROWS, WIDTH], versionDir: model.versionDir },
    options,
    requests: {
      restBytes: payload.restBody.length,
      grpcPredictBytes: payload.predictRequest.length,
      torchServeGrpcBytes: torchServeRequest.length,
    },
    checks: [...run.checks],
    phases: run.phases,
    measurements: merged.map((m) => ({ ...m, result: m.result && roundAll(m.result) })),
    rounds: run.measurements.map((m) => ({ ...m, result: m.result && roundAll(m.result) })),
    targets,
    totalS: round(Number(process.hrtime.bigint() - started) / 1e9),
  };
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  log(`written to ${path.relative(process.cwd(), options.out) || options.out}; done in ${result.totalS} s`);
  if (merged.some((m) => m.error)) process.exitCode = 1;
}

function nestedRows(tensor: DenseTensor): number[][] {
  const [rows, width] = tensor.shape;
  return Array.from({ length: rows }, (_, i) => Array.from(tensor.values.subarray(i * width, (i + 1) * width)));
}

function roundAll<T extends object>(values: T): T {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v])) as T;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((error) => {
  console.error(`[peers] ${(error as Error).stack ?? error}`);
  process.exit(1);
});
