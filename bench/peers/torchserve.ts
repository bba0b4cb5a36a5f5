/**
 * TorchServe 0.12 serving the same model.pt as duoserve: a .mar built by torch-model-archiver
 * with bench/peers/handler.py, TorchServe's own launcher in the foreground in its own process
 * group (stop() also ends its Python workers), its output in var/bench/peers/torchserve.log.
 *
 * Tuned for the cores, not for show: workers x torch threads = the budget given; no access or
 * metrics log (bench/peers/log4j2.xml), no system metrics, no metrics API, no token auth;
 * TorchServe's own batching only when asked (batchSize > 1).
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import * as protobuf from 'protobufjs';
import { freePorts, logTail, stopGroup } from '../duoserve_process';
import { PEERS_DIR } from './load_generators';
import type { TorchServeTuning } from './options';

export const TORCHSERVE_PROTO = path.join(PEERS_DIR, 'torchserve_inference.proto');
export const PREDICTIONS_METHOD = 'org.pytorch.serve.grpc.inference.InferenceAPIsService.Predictions';

const root = new protobuf.Root().loadSync(TORCHSERVE_PROTO, { keepCase: true });
export const PredictionsRequest = root.lookupType('org.pytorch.serve.grpc.inference.PredictionsRequest');
export const PredictionResponse = root.lookupType('org.pytorch.serve.grpc.inference.PredictionResponse');

export interface TorchServeProcess {
  restUrl: string;
  grpcTarget: string;
  logPath: string;
  startupS: number;
  stop(): Promise<void>;
}

export interface PeerTools {
  venv: string;
  bin: string;
}

/**
 * The wire facts bench/peers/torchserve_inference.proto states, checked against the descriptor
 * compiled into the installed TorchServe (its frontend jar, read by bench/peers/ProtoCheck.java).
 */
export async function checkProtoAgainstTorchServe(tools: PeerTools): Promise<void> {
  const jar = fs
    .readdirSync(path.join(tools.venv, 'lib'))
    .map((python) => path.join(tools.venv, 'lib', python, 'site-packages/ts/frontend/model-server.jar'))
    .find((file) => fs.existsSync(file));
  if (!jar) throw new Error(`no TorchServe frontend jar under ${tools.venv}`);
  const { stdout } = await promisify(execFile)(path.join(tools.bin, 'java'), [
    '-cp',
    jar,
    path.join(PEERS_DIR, 'ProtoCheck.java'),
  ]);
  const theirs = new Set(stdout.split('\n').filter(Boolean));
  const name = (type: protobuf.Type) => type.fullName.slice(1);
  const ours = [`rpc ${PREDICTIONS_METHOD}(${name(PredictionsRequest)}) ${name(PredictionResponse)}`];
  for (const type of [PredictionsRequest, PredictionResponse])
    for (const field of type.fieldsArray) {
      const fieldType = field instanceof protobuf.MapField ? `map<${field.keyType}, ${field.type}>` : field.type;
      ours.push(`${name(type)}.${field.name} = ${field.id} ${fieldType}`);
    }
  const missing = ours.filter((fact) => !theirs.has(fact));
  if (missing.length > 0)
    throw new Error(`torchserve_inference.proto disagrees with TorchServe's own: ${missing.join('; ')}`);
}

function modelConfigYaml(tuning: TorchServeTuning, rowWidth: number): string {
  return [
    `minWorkers: ${tuning.workers}`,
    `maxWorkers: ${tuning.workers}`,
    `batchSize: ${tuning.batchSize}`,
    `maxBatchDelay: ${tuning.maxBatchDelayMs}`,
    'responseTimeout: 120',
    'handler:',
    `  torch_threads: ${tuning.threads}`,
    `  row_width: ${rowWidth}`,
    '',
  ].join('\n');
}

async function buildArchive(
  tools: PeerTools,
  modelName: string,
  modelPt: string,
  tuning: TorchServeTuning,
  rowWidth: number,
  workDir: string,
): Promise<string> {
  const store = path.join(workDir, 'model-store');
  fs.rmSync(store, { recursive: true, force: true });
  fs.mkdirSync(store, { recursive: true });
  const config = path.join(workDir, 'model-config.yaml');
  fs.writeFileSync(config, modelConfigYaml(tuning, rowWidth));
  await promisify(execFile)(path.join(tools.venv, 'bin', 'torch-model-archiver'), [
    `--model-name=${modelName}`,
    '--version=1',
    `--serialized-file=${modelPt}`,
    `--handler=${path.join(PEERS_DIR, 'handler.py')}`,
    `--config-file=${config}`,
    `--export-path=${store}`,
    '--force',
  ]);
  return store;
}

interface WorkerStatus {
  status: string;
}

/** True once the model's every configured worker is READY (management API). */
async function workersReady(managementUrl: string, modelName: string, workers: number): Promise<boolean> {
  try {
    const response = await fetch(`${managementUrl}/models/${modelName}`);
    if (!response.ok) return false;
    const [model] = (await response.json()) as Array<{ workers: WorkerStatus[] }>;
    return model.workers.filter((worker) => worker.status === 'READY').length >= workers;
  } catch {
    return false;
  }
}

export async function startTorchServe(
  tools: PeerTools,
  modelName: string,
  modelPt: string,
  tuning: TorchServeTuning,
  rowWidth: number,
  workDir: string,
  timeoutMs = 180_000,
): Promise<TorchServeProcess> {
  fs.mkdirSync(workDir, { recursive: true });
  const store = await buildArchive(tools, modelName, modelPt, tuning, rowWidth, workDir);
  const [inference, management, metrics, grpcInference, grpcManagement] = await freePorts(5);
  const properties = path.join(workDir, 'config.properties');
  fs.writeFileSync(
    properties,
    [
      `inference_address=http://127.0.0.1:${inference}`,
      `management_address=http://127.0.0.1:${management}`,
      `metrics_address=http://127.0.0.1:${metrics}`,
      'grpc_inference_address=127.0.0.1',
      'grpc_management_address=127.0.0.1',
      `grpc_inference_port=${grpcInference}`,
      `grpc_management_port=${grpcManagement}`,
      `model_store=${store}`,
      `load_models=${modelName}.mar`,
      `default_workers_per_model=${tuning.workers}`,
      'disable_system_metrics=true',
      'enable_metrics_api=false',
      'disable_token_authorization=true',
      'install_py_dep_per_model=false',
      'async_logging=true',
      // Its default of 100 queued jobs answers 503 at c=64 once a warm-up's abandoned calls are queued too.
      'job_queue_size=1000',
      '',
    ].join('\n'),
  );
  const logPath = path.join(workDir, 'torchserve.log');
  const log = fs.openSync(logPath, 'w');
  const tmp = path.join(workDir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const started = process.hrtime.bigint();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${tools.bin}:${path.join(tools.venv, 'bin')}:${process.env.PATH}`,
    // Its pid file lives in the temp dir: a private one keeps another TorchServe on the machine out.
    TMPDIR: tmp,
    OMP_NUM_THREADS: String(tuning.threads),
  };
  delete env.JAVA_HOME;
  const child = spawn(
    path.join(tools.venv, 'bin', 'torchserve'),
    [
      '--start',
      '--foreground',
      '--ncs',
      '--disable-token-auth',
      `--model-store=${store}`,
      `--ts-config=${properties}`,
      `--log-config=${path.join(PEERS_DIR, 'log4j2.xml')}`,
    ],
    { cwd: workDir, stdio: ['ignore', log, log], detached: true, env },
  );
  fs.closeSync(log);
  const killOnExit = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    await stopGroup(child);
    process.removeListener('exit', killOnExit);
  };
  const managementUrl = `http://127.0.0.1:${management}`;
  const deadline = Date.now() + timeoutMs;
  while (!(await workersReady(managementUrl, modelName, tuning.workers))) {
    const exited = child.exitCode !== null || child.signalCode !== null;
    // A worker that failed to start is retried forever; its first failure already says why.
    const workerFailed = fs.readFileSync(logPath, 'utf8').includes('WorkerInitializationException');
    if (exited || workerFailed || Date.now() > deadline) {
      await stop();
      const what = exited
        ? `exited (${child.exitCode ?? child.signalCode})`
        : workerFailed
          ? 'could not start a worker'
          : `not ready after ${timeoutMs / 1000} s`;
      throw new Error(`TorchServe ${what}; ${logPath} ends:\n${logTail(logPath)}`);
    }
    await sleep(500);
  }
  return {
    restUrl: `http://127.0.0.1:${inference}/predictions/${modelName}`,
    grpcTarget: `127.0.0.1:${grpcInference}`,
    logPath,
    startupS: Number(process.hrtime.bigint() - started) / 1e9,
    stop,
  };
}
