/**
 * `npm run bench:v2`: the same models over TF-Serving's gRPC Predict (input as tensor_content)
 * and over the Open Inference Protocol's gRPC ModelInfer (input as raw_input_contents), one
 * duoserve serving both, driven by the same load generator (ghz, one connection, as
 * bench:peers) with the two APIs timed interleaved (A B, B A, ...) at every point. Beside them the
 * floors: the bare grpc-js echo of each API's request bytes, and the in-process call of each
 * API's core (predict() on the servable, OpenInference.infer) with no transport. Answers are
 * checked against the in-process Predict before anything is timed. Prints one table, the
 * ratios (the issue's: ModelInfer raw not slower than Predict), and writes var/bench/v2_grpc.json.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLog } from '../src/core/log';
import { readModelConfigFile } from '../src/server/model_config_file';
import { OpenInference } from '../src/server/open_inference/open_inference';
import { ServerCore } from '../src/server/server_core';
import { withServable } from '../src/server/with_servable';
import { platformRegistry } from '../src/platforms/registry';
import { sessionConfigFromFlags } from '../src/platforms/tensorflow/session_config';
import { predict } from '../src/servables/predictor';
import { DEFAULT_SIGNATURE_NAME } from '../src/servables/signature';
import { parseCliArgs } from './cli_args';
import { startDuoserve } from './duoserve_process';
import { ECHO_PATH, startEchoServers } from './echo_servers';
import { PREDICT_PATH, RawGrpcClient } from './grpc_client';
import { useServerThreadBudget } from './in_process';
import { measureInterleaved } from './load_loop';
import { type BenchModel, benchModels, writeModelConfig } from './models';
import { REPO_ROOT } from './options';
import {
  buildPayload,
  decodeTensorProto,
  type DenseTensor,
  predictRequestBytes,
  predictResponseOutput,
} from './payloads';
import { type GhzCall, PEERS_DIR, runGhz } from './peers/load_generators';
import { type Ratio, loadAverages, ratio, ratioTable, table } from './report';
import { cpuSeconds } from './process_cpu';
import { assertClose, knownAnswer } from './sanity';
import { type LatencySummary, poolRounds, round } from './stats';
import {
  inferRequestOf,
  inferResponseOutput,
  MODEL_INFER_METHOD,
  MODEL_INFER_PATH,
  modelInferRequestBytes,
  modelInferResponseOutput,
} from './v2_requests';

/** TF-Serving's Predict, or the Open Inference Protocol's ModelInfer with raw contents. */
export type Api = 'predict' | 'model_infer';
export type Contender = 'duoserve' | 'echo' | 'in_process';

const APIS: Api[] = ['predict', 'model_infer'];
const CONTENDERS: Contender[] = ['duoserve', 'echo', 'in_process'];

export interface V2Options {
  models: string[];
  /** Rows of the MLPs' [rows, 512] input. */
  rows: number;
  concurrencies: number[];
  warmupS: number;
  /** Timed seconds of each point in each round. */
  durationS: number;
  rounds: number;
  contenders: Contender[];
  skipInstall: boolean;
  modelConfigFile: string;
  serverArgs: string[];
  out: string;
}

const HELP = `usage: npm run bench:v2 -- [flags]
  One duoserve serving each model over TF-Serving's gRPC Predict (tensor_content) and the Open Inference
  Protocol's gRPC ModelInfer (raw_input_contents), both driven by ghz (one connection, --cpus=1), the two APIs
  timed in turn at every point (A B, B A, ...); beside them the bare grpc-js echo of each API's request bytes and
  each API's core called in-process (predict(), OpenInference.infer). ghz comes from bench/peers/install.sh ghz.
  --models=a,b        default mlp_tf,mlp_torch,half_plus_two,half_plus_two_torch
  --rows=N            rows of the MLP input [N, 512], default 8
  --concurrency=1,16  concurrent calls (ghz over one connection; in-process loops), default 1,16
  --duration=SEC      timed part of each point in each round (whole seconds), default 2
  --warmup=SEC        discarded warm-up before each point's first round (whole seconds, 0 for none), default 1
  --rounds=N          times every point is measured, the APIs in turn, pooled; default 6
  --only=duoserve,echo,in_process   contenders to time, default all (answers are checked regardless)
  --skip-install      use var/peers/bin/ghz as it is
  --model-config=FILE where the models are found, default var/models/models.config
  --server-arg=FLAG   extra bin/duoserve flag, repeatable
  --out=FILE          JSON result, default var/bench/v2_grpc.json`;

export const DEFAULT_V2_MODELS = ['mlp_tf', 'mlp_torch', 'half_plus_two', 'half_plus_two_torch'];

function count(flag: string, text: string | undefined, fallback: number, least = 1): number {
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(value) || value < least)
    throw new Error(`--${flag} must be an integer >= ${least}, got ${text}`);
  return value;
}

export function parseV2Options(argv: string[]): V2Options {
  const { flags, repeated } = parseCliArgs(argv, HELP, { 'server-arg': undefined });
  const known = new Set([
    'models',
    'rows',
    'concurrency',
    'duration',
    'warmup',
    'rounds',
    'only',
    'skip-install',
    'model-config',
    'out',
  ]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}\n${HELP}`);
  const contenders = (flags.get('only')?.split(',').filter(Boolean) ?? CONTENDERS) as Contender[];
  for (const contender of contenders)
    if (!CONTENDERS.includes(contender)) throw new Error(`--only: ${contender} is not one of ${CONTENDERS.join(', ')}`);
  return {
    models: flags.get('models')?.split(',').filter(Boolean) ?? DEFAULT_V2_MODELS,
    rows: count('rows', flags.get('rows'), 8),
    concurrencies: (flags.get('concurrency') ?? '1,16')
      .split(',')
      .filter(Boolean)
      .map((text) => count('concurrency', text, 1)),
    warmupS: count('warmup', flags.get('warmup'), 1, 0),
    durationS: count('duration', flags.get('duration'), 2),
    rounds: count('rounds', flags.get('rounds'), 6),
    contenders,
    skipInstall: flags.get('skip-install') === 'true',
    modelConfigFile: path.resolve(flags.get('model-config') ?? path.join(REPO_ROOT, 'var/models/models.config')),
    serverArgs: repeated.get('server-arg')!,
    out: path.resolve(flags.get('out') ?? path.join(REPO_ROOT, 'var/bench/v2_grpc.json')),
  };
}

const WORK_DIR = path.join(REPO_ROOT, 'var/bench/v2_grpc');
const BENCH_PROTO_DIR = path.join(REPO_ROOT, 'bench', 'protos');
const GHZ = path.join(REPO_ROOT, 'var/peers/bin/ghz');

export interface RequestFiles {
  /** Serialized tensorflow.serving.PredictRequest, the input as tensor_content. */
  predict: string;
  /** Serialized inference.ModelInferRequest, the input as raw_input_contents. */
  modelInfer: string;
}

/** Each model's two requests, written once into `dir`: the bytes ghz sends every call. */
export function writeRequestFiles(models: BenchModel[], dir: string): Map<string, RequestFiles> {
  fs.mkdirSync(dir, { recursive: true });
  return new Map(
    models.map((model) => {
      const files = {
        predict: path.join(dir, `${model.name}.predict_request.bin`),
        modelInfer: path.join(dir, `${model.name}.model_infer_request.bin`),
      };
      fs.writeFileSync(files.predict, predictRequestBytes(model, 'content'));
      fs.writeFileSync(files.modelInfer, modelInferRequestBytes(model));
      return [model.name, files];
    }),
  );
}

/** The ghz call of each API: the server's service, or the bare echo of the same request bytes. */
export function ghzCall(api: Api, files: RequestFiles, target: string, echo: boolean): GhzCall {
  const binaryFile = api === 'predict' ? files.predict : files.modelInfer;
  if (echo)
    return {
      proto:
        api === 'predict' ? path.join(PEERS_DIR, 'echo.proto') : path.join(BENCH_PROTO_DIR, 'model_infer_echo.proto'),
      importPaths: api === 'predict' ? [BENCH_PROTO_DIR, PEERS_DIR] : [BENCH_PROTO_DIR],
      method: ECHO_PATH.slice(1).replace('/', '.'),
      binaryFile,
      target,
    };
  // Both APIs' messages with their nested messages left as bytes (wire-identical): with the full
  // protos ghz would build and parse the tensors itself (for Predict's answer 4,096 float_val), at
  // CPU taken from the server on a shared machine (bench/grpc_ceiling.ts; opaque_model_infer.proto).
  return api === 'predict'
    ? {
        proto: path.join(BENCH_PROTO_DIR, 'opaque_predict.proto'),
        importPaths: [BENCH_PROTO_DIR],
        method: 'tensorflow.serving.PredictionService.Predict',
        binaryFile,
        target,
      }
    : {
        proto: path.join(BENCH_PROTO_DIR, 'opaque_model_infer.proto'),
        importPaths: [BENCH_PROTO_DIR],
        method: MODEL_INFER_METHOD,
        binaryFile,
        target,
      };
}

export interface Measurement {
  model: string;
  contender: Contender;
  api: Api;
  concurrency: number;
  result?: LatencySummary;
  error?: string;
  /**
   * The server's CPU time per completed request over the timed part (kernel ticks of 10 ms):
   * all its threads, and its main (JS) thread alone. Steadier than req/s on a shared machine.
   */
  serverCpu?: ServerCpu;
  /** uptime's load averages as the point ended (each round's, for a pooled point). */
  load: string[];
}

export interface ServerCpu {
  allUsPerRequest: number;
  jsUsPerRequest: number;
}

/** CPU seconds a server spent over one timed run. */
interface ServerCpuSeconds {
  all: number;
  js: number;
}

export interface RoundMeasurement extends Omit<Measurement, 'load' | 'serverCpu'> {
  round: number;
  load: string;
  serverCpuS?: ServerCpuSeconds;
}

/** Each point's rounds pooled; a point that failed in any round is an error. */
export function mergeRounds(measurements: RoundMeasurement[]): Measurement[] {
  const groups = new Map<string, RoundMeasurement[]>();
  for (const m of measurements) {
    const key = `${m.model} ${m.contender} ${m.api} ${m.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups.values()].map((rounds) => {
    const { model, contender, api, concurrency } = rounds[0];
    const load = rounds.map((m) => m.load);
    const failed = rounds.find((m) => m.error !== undefined || !m.result);
    if (failed) return { model, contender, api, concurrency, load, error: `round ${failed.round}: ${failed.error}` };
    const result = poolRounds(rounds.map((m) => m.result!));
    const cpu = rounds.every((m) => m.serverCpuS) ? rounds.map((m) => m.serverCpuS!) : undefined;
    const perRequest = (seconds: number) => (seconds * 1e6) / result.requests;
    const serverCpu = cpu && {
      allUsPerRequest: perRequest(cpu.reduce((sum, c) => sum + c.all, 0)),
      jsUsPerRequest: perRequest(cpu.reduce((sum, c) => sum + c.js, 0)),
    };
    return { model, contender, api, concurrency, load, result, ...(serverCpu && { serverCpu }) };
  });
}

const API_LABELS: Record<Api, string> = { predict: 'Predict', model_infer: 'ModelInfer raw' };
const CONTENDER_LABELS: Record<Contender, string> = {
  duoserve: 'duoserve gRPC',
  echo: 'bare grpc-js echo',
  in_process: 'in-process core',
};

function point(measurements: Measurement[], model: string, contender: Contender, api: Api, concurrency: number) {
  return measurements.find(
    (m) => m.model === model && m.contender === contender && m.api === api && m.concurrency === concurrency,
  );
}

function find(measurements: Measurement[], model: string, contender: Contender, api: Api, concurrency: number) {
  return point(measurements, model, contender, api, concurrency)?.result;
}

/** Rows by model, concurrency, contender, API; the last column is ModelInfer's req/s over Predict's. */
export function v2Table(measurements: Measurement[]): string {
  const rows = measurements.map((m) => {
    const cells = [m.model, String(m.concurrency), CONTENDER_LABELS[m.contender], API_LABELS[m.api]];
    const r = m.result;
    const load = m.load.at(-1) ?? '';
    if (!r) return [...cells, 'error', '', '', '', '', '', '', load];
    const predict = find(measurements, m.model, m.contender, 'predict', m.concurrency);
    const versus = m.api === 'model_infer' && predict ? `${round(r.throughput / predict.throughput)}x` : '';
    return [
      ...cells,
      String(round(r.throughput)),
      String(round(r.p50Us)),
      String(round(r.p99Us)),
      String(r.requests),
      m.serverCpu ? `${round(m.serverCpu.allUsPerRequest)} / ${round(m.serverCpu.jsUsPerRequest)}` : '',
      r.clientCpuUsPerRequest === undefined ? '' : String(round(r.clientCpuUsPerRequest)),
      versus,
      load,
    ];
  });
  const body = table(
    [
      'model',
      'c',
      'contender',
      'API',
      'req/s',
      'p50 µs',
      'p99 µs',
      'requests',
      'server CPU µs/req all / JS',
      'ghz CPU µs/req',
      'v2/Predict req/s',
      'load',
    ],
    rows,
    'lrllrrrrrrrl',
  );
  const errors = measurements
    .filter((m) => m.error)
    .map(
      (m) =>
        `  ${m.model} c=${m.concurrency} ${CONTENDER_LABELS[m.contender]} ${API_LABELS[m.api]}: ${m.error!.split('\n')[0].slice(0, 300)}`,
    );
  return errors.length ? `${body}\nerrors:\n${errors.join('\n')}` : body;
}

/**
 * The target (v2 gRPC with raw contents not slower than TF-Serving's gRPC: req/s ratio
 * >= 1, for every model and concurrency), the latency ratios beside it, and each API against
 * its own floors.
 */
export function v2Ratios(measurements: Measurement[], models: string[], concurrencies: number[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const model of models)
    for (const c of concurrencies) {
      const at = (contender: Contender, api: Api) => find(measurements, model, contender, api, c);
      const duoserve = (api: Api) => at('duoserve', api);
      ratios.push(
        ratio(
          `ModelInfer raw / Predict req/s, duoserve, c=${c}`,
          model,
          duoserve('model_infer')?.throughput,
          duoserve('predict')?.throughput,
          { op: '>=', bound: 1 },
        ),
        ratio(
          `ModelInfer raw / Predict p50, duoserve, c=${c}`,
          model,
          duoserve('model_infer')?.p50Us,
          duoserve('predict')?.p50Us,
          null,
        ),
        ratio(
          `ModelInfer raw / Predict p99, duoserve, c=${c}`,
          model,
          duoserve('model_infer')?.p99Us,
          duoserve('predict')?.p99Us,
          null,
        ),
      );
      const cpu = (api: Api) => point(measurements, model, 'duoserve', api, c)?.serverCpu;
      ratios.push(
        ratio(
          `ModelInfer raw / Predict server CPU per request, c=${c}`,
          model,
          cpu('model_infer')?.allUsPerRequest,
          cpu('predict')?.allUsPerRequest,
          null,
        ),
        ratio(
          `ModelInfer raw / Predict server JS-thread CPU per request, c=${c}`,
          model,
          cpu('model_infer')?.jsUsPerRequest,
          cpu('predict')?.jsUsPerRequest,
          null,
        ),
      );
      for (const api of APIS)
        ratios.push(
          ratio(
            `${API_LABELS[api]} req/s duoserve / its bare echo, c=${c}`,
            model,
            duoserve(api)?.throughput,
            at('echo', api)?.throughput,
            null,
          ),
        );
      ratios.push(
        ratio(
          `OpenInference.infer / predict() req/s, in-process, c=${c}`,
          model,
          at('in_process', 'model_infer')?.throughput,
          at('in_process', 'predict')?.throughput,
          null,
        ),
      );
    }
  return ratios;
}

function log(line: string): void {
  console.log(`[v2] ${line}`);
}

class Run {
  readonly measurements: RoundMeasurement[] = [];
  readonly checks: string[] = [];

  constructor(readonly options: V2Options) {}

  record(
    point: Omit<RoundMeasurement, 'load' | 'result' | 'error' | 'serverCpuS'>,
    outcome: LatencySummary | Error,
    serverCpuS?: ServerCpuSeconds,
  ): void {
    const load = loadAverages();
    const entry: RoundMeasurement = { ...point, load };
    if (outcome instanceof Error) entry.error = outcome.message;
    else {
      entry.result = outcome;
      if (serverCpuS) entry.serverCpuS = serverCpuS;
    }
    this.measurements.push(entry);
    log(
      `round ${point.round} ${point.model.padEnd(20)} c=${String(point.concurrency).padEnd(3)} ` +
        `${CONTENDER_LABELS[point.contender].padEnd(18)} ${API_LABELS[point.api].padEnd(15)} ` +
        (outcome instanceof Error
          ? `FAILED ${outcome.message.split('\n')[0].slice(0, 300)}`
          : `${round(outcome.throughput)} req/s  p50 ${round(outcome.p50Us)} µs  p99 ${round(outcome.p99Us)} µs`) +
        `  (load ${load})`,
    );
  }

  /** Every point of one contender that was never measured, as `error` (its phase failed). */
  failRemaining(contender: Contender, error: Error): void {
    for (const model of this.options.models)
      for (const concurrency of this.options.concurrencies)
        for (const api of APIS)
          if (
            !this.measurements.some(
              (m) => m.model === model && m.contender === contender && m.api === api && m.concurrency === concurrency,
            )
          )
            this.record({ model, contender, api, concurrency, round: 1 }, error);
  }

  /** Compares once; a failure is logged and returned, for the points it stops. */
  async check(what: string, actual: () => Promise<DenseTensor>, expected: DenseTensor): Promise<Error | undefined> {
    try {
      assertClose(what, await actual(), expected);
      this.checks.push(what);
      return undefined;
    } catch (error) {
      log(`check FAILED: ${(error as Error).message.split('\n')[0]}`);
      return error as Error;
    }
  }

  /**
   * ghz on every model, concurrency and API, the APIs in turn at each point, round after round;
   * the server's (process `pid`) CPU time is read around each timed run, after its warm-up.
   */
  async measureGhz(
    contender: 'duoserve' | 'echo',
    pid: number,
    target: string,
    files: Map<string, RequestFiles>,
    failed: Map<string, Error>,
  ): Promise<void> {
    const { options } = this;
    for (let round = 1; round <= options.rounds; round++)
      for (const model of options.models)
        for (const concurrency of options.concurrencies)
          // A B in odd rounds, B A in even ones: neither API is always the first after a change.
          for (const api of round % 2 === 1 ? APIS : [...APIS].reverse()) {
            const point = { model, contender, api, concurrency, round };
            const refused = failed.get(`${model} ${api}`);
            if (refused) {
              this.record(point, refused);
              continue;
            }
            const call = ghzCall(api, files.get(model)!, target, contender === 'echo');
            // In the first round only: later ones find the server warm for both APIs (and ghz's
            // --duration-stop=wait leaves no call running into the next run). Its failures show
            // in the timed run.
            if (options.warmupS > 0 && round === 1)
              await runGhz(GHZ, call, { concurrency, warmupS: 0, durationS: options.warmupS }).catch(() => undefined);
            const before = { all: cpuSeconds(pid), js: cpuSeconds(pid, { mainThreadOnly: true }) };
            const outcome = await runGhz(GHZ, call, { concurrency, warmupS: 0, durationS: options.durationS }).catch(
              (error: Error) => error,
            );
            const cpu = {
              all: cpuSeconds(pid) - before.all,
              js: cpuSeconds(pid, { mainThreadOnly: true }) - before.js,
            };
            this.record(point, outcome, cpu);
          }
  }
}

/** In this process: the server's core over the models, each API's call minus its transport. */
async function inProcessPhase(
  run: Run,
  models: BenchModel[],
  configFile: string,
  references: Map<string, DenseTensor>,
): Promise<void> {
  const budget = useServerThreadBudget();
  const config = readModelConfigFile(configFile);
  const core = new ServerCore(config, {
    platforms: platformRegistry({
      savedModelTags: ['serve'],
      sessionConfig: sessionConfigFromFlags({ configFile: '', ...budget.tensorflow }),
      torchThreads: budget.torch,
    }),
    fileSystemPollWaitSeconds: 1,
    maxNumLoadRetries: 0,
    log: silentLog,
  });
  try {
    await core.waitUntilModelsAvailable();
    const openInference = new OpenInference(core.manager, {
      platformOf: (name) => config.models.find((model) => model.name === name)?.platform,
    });
    for (const model of models) {
      const { tensorProto } = buildPayload(model, 'content');
      // What the Predict handler does between decoding and encoding: handle, predict(), release.
      const predictCall = () =>
        withServable(core.manager, { name: model.name }, (handle) =>
          predict(handle.servable, {
            signatureName: DEFAULT_SIGNATURE_NAME,
            inputs: new Map([[model.inputAlias, tensorProto]]),
            outputFilter: [],
            encoding: 'fields',
            // As the handler's: the run is recorded in runtime_latency (OpenInference.infer's is too).
            origin: { modelName: model.name, api: 'Predict' },
          }),
        );
      const request = inferRequestOf(model);
      // As the gRPC transport asks: 'raw' outputs.
      const inferCall = () => openInference.infer(request, { outputEncoding: 'raw' });
      const reference = decodeTensorProto((await predictCall()).get(model.outputAlias) as Buffer);
      const known = knownAnswer(model);
      if (known) assertClose(`${model.name}: in-process Predict vs 0.5x + 2`, reference, known);
      references.set(model.name, reference);
      const inferError = await run.check(
        `${model.name}: in-process OpenInference.infer vs predict()`,
        async () => inferResponseOutput(await inferCall(), model.outputAlias),
        reference,
      );
      if (!run.options.contenders.includes('in_process')) continue;
      for (const concurrency of run.options.concurrencies) {
        const [predictResult, inferResult] = await measureInterleaved(
          inferError ? [predictCall] : [predictCall, inferCall],
          {
            concurrency,
            warmupMs: run.options.warmupS * 1000,
            durationMs: run.options.durationS * run.options.rounds * 1000,
            rounds: run.options.rounds,
          },
        );
        const point = { model: model.name, contender: 'in_process' as const, concurrency, round: 1 };
        run.record({ ...point, api: 'predict' }, predictResult);
        run.record({ ...point, api: 'model_infer' }, inferResult ?? inferError!);
      }
    }
  } finally {
    await core.shutdown();
  }
}

/** Answers over gRPC checked against the in-process ones; a failed API is not timed (its error is). */
async function checkServer(
  run: Run,
  models: BenchModel[],
  target: string,
  references: Map<string, DenseTensor>,
): Promise<Map<string, Error>> {
  const failed = new Map<string, Error>();
  const client = new RawGrpcClient(target);
  try {
    for (const model of models) {
      const reference = references.get(model.name)!;
      const predictError = await run.check(
        `${model.name}: Predict vs in-process`,
        async () =>
          predictResponseOutput(
            await client.call(PREDICT_PATH, predictRequestBytes(model, 'content'), 30_000),
            model.outputAlias,
          ),
        reference,
      );
      if (predictError) failed.set(`${model.name} predict`, predictError);
      const inferError = await run.check(
        `${model.name}: ModelInfer raw vs in-process`,
        async () =>
          modelInferResponseOutput(
            await client.call(MODEL_INFER_PATH, modelInferRequestBytes(model), 30_000),
            model.outputAlias,
          ),
        reference,
      );
      if (inferError) failed.set(`${model.name} model_infer`, inferError);
    }
  } finally {
    client.close();
  }
  return failed;
}

async function phase(run: Run, contender: Contender, body: () => Promise<void>): Promise<void> {
  if (!run.options.contenders.includes(contender)) return;
  log(`${CONTENDER_LABELS[contender]}: starting (load ${loadAverages()})`);
  try {
    await body();
  } catch (error) {
    log(`${CONTENDER_LABELS[contender]} FAILED: ${(error as Error).message}`);
    run.failRemaining(contender, error as Error);
  }
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const options = parseV2Options(process.argv.slice(2));
  if (!options.skipInstall) execFileSync('bash', [path.join(PEERS_DIR, 'install.sh'), 'ghz'], { stdio: 'inherit' });
  if (!fs.existsSync(GHZ)) throw new Error(`${GHZ} is missing: run bash bench/peers/install.sh ghz`);
  const run = new Run(options);
  const configFile = writeModelConfig(options.modelConfigFile, options.models, path.join(WORK_DIR, 'models.config'));
  const models = benchModels(configFile, options.models, options.rows);
  const files = writeRequestFiles(models, WORK_DIR);
  const points = options.models.length * options.concurrencies.length * APIS.length * options.rounds;
  log(
    `${points} ghz points per server of ${options.warmupS} s warm-up + ${options.durationS} s; ` +
      `${os.cpus().length} CPUs, load ${loadAverages()}`,
  );

  // Always run: the in-process Predict answer is the reference every other answer is checked against.
  const references = new Map<string, DenseTensor>();
  await inProcessPhase(run, models, configFile, references);

  await phase(run, 'duoserve', async () => {
    const server = await startDuoserve(configFile, options.models, options.serverArgs, 180_000, WORK_DIR);
    log(`duoserve: AVAILABLE after ${round(server.startupS)} s (gRPC ${server.grpcTarget})`);
    try {
      const failed = await checkServer(run, models, server.grpcTarget, references);
      await run.measureGhz('duoserve', server.pid, server.grpcTarget, files, failed);
    } finally {
      await server.stop();
    }
  });

  await phase(run, 'echo', async () => {
    const echo = await startEchoServers({});
    try {
      await run.measureGhz('echo', echo.pid, echo.grpcTarget, files, new Map());
    } finally {
      await echo.stop();
    }
  });

  const merged = mergeRounds(run.measurements);
  const ratios = v2Ratios(merged, options.models, options.concurrencies);
  console.log(
    `\nghz: c concurrent calls over one connection, --cpus=1; each point ${options.rounds} round(s) of ` +
      `${options.durationS} s, the two APIs in turn (p50, p99: the rounds' mean); in-process: c concurrent loops, ` +
      `interleaved the same way. Load (1, 5, 15 min) at each point's end; at the end: ${loadAverages()}`,
  );
  console.log(v2Table(merged));
  console.log('\nRatios (issue 13: v2 gRPC with raw contents must not be slower than TF-Serving gRPC)');
  console.log(ratioTable(ratios));
  console.log(`\nanswers checked (tolerance 1e-4): ${run.checks.join('; ') || 'none'}`);
  const result = {
    date: new Date().toISOString(),
    host: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAtEnd: loadAverages() },
    options,
    requests: Object.fromEntries(
      models.map((model) => {
        const f = files.get(model.name)!;
        return [
          model.name,
          { predictBytes: fs.statSync(f.predict).size, modelInferBytes: fs.statSync(f.modelInfer).size },
        ];
      }),
    ),
    checks: run.checks,
    measurements: merged,
    rounds: run.measurements,
    ratios,
    totalS: round(Number(process.hrtime.bigint() - started) / 1e9),
  };
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  log(`written to ${path.relative(process.cwd(), options.out) || options.out}; done in ${result.totalS} s`);
  if (merged.some((m) => m.error)) process.exitCode = 1;
}

if (require.main === module) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  main().catch((error) => {
    console.error(`[v2] ${(error as Error).stack ?? error}`);
    process.exit(1);
  });
}
