/**
 * What the end-to-end lifecycle tests share: model directories in a temporary folder whose
 * versions come and go atomically (staged, then renamed into place), a duoserve served
 * in-process (ServerCore + the gRPC API) or as bin/duoserve, and a TF-Serving gRPC client.
 * The models are the real example exports (var/models/examples, written by scripts/setup.sh).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { modelServerConfigFromMessage } from '../../src/config/model_server_config';
import type { Log } from '../../src/core/log';
import { Protos } from '../../src/protos';
import { platformRegistry } from '../../src/platforms/registry';
import { startGrpcServer } from '../../src/server/grpc/grpc_server';
import { ServerCore, type ServerCoreOptions } from '../../src/server/server_core';

// TensorFlow logs every load step at INFO; keep warnings and errors (as bin/duoserve does).
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');

/** One example model of each framework: x [3] floats -> y = x / 2 + 2. */
export interface ExampleModel {
  platform: 'tensorflow' | 'pytorch';
  example: string;
  /** A file that makes a version directory this platform's, for a corrupt version. */
  modelFile: string;
  /** Part of the load error of a version directory without that file, in the platform's words. */
  missingModelError: string;
}

export const EXAMPLE_MODELS: readonly ExampleModel[] = [
  {
    platform: 'tensorflow',
    example: 'half_plus_two',
    modelFile: 'saved_model.pb',
    missingModelError: 'Could not find SavedModel .pb or .pbtxt at supplied export directory path: ',
  },
  {
    platform: 'pytorch',
    example: 'half_plus_two_torch',
    modelFile: 'model.pt',
    missingModelError: ': expected model.pt (TorchScript) or one *.pt2 file (AOTInductor package)',
  },
];

export const INPUT_X = [1, 2, 5];
export const EXPECTED_Y = [2.5, 3, 4.5];

/** What an export of TensorFlow's old Exporter held: a checkpoint, no SavedModel. */
export const OLD_EXPORT_FILES = ['checkpoint', 'export.index', 'export.data-00000-of-00001', 'export.meta'];

/** A temporary folder holding model base paths; versions enter and leave them atomically. */
export class ModelDirs {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-e2e-'));
  private staged = 0;

  basePath(name: string): string {
    const basePath = path.join(this.root, 'models', name);
    fs.mkdirSync(basePath, { recursive: true });
    return basePath;
  }

  /** Copies the example's version 1 as `version` (staged first: a copy into place is not atomic). */
  addVersion(basePath: string, model: ExampleModel, version: number): void {
    const staging = this.stage();
    fs.cpSync(path.join(EXAMPLES, model.example, '1'), staging, { recursive: true });
    fs.renameSync(staging, path.join(basePath, String(version)));
  }

  /** Copies the example's version 1 into an existing version directory, in place (an operator's fix). */
  copyIntoVersion(basePath: string, model: ExampleModel, version: number): void {
    fs.cpSync(path.join(EXAMPLES, model.example, '1'), path.join(basePath, String(version)), { recursive: true });
  }

  /** A version whose model file is garbage: complete for its platform, but it cannot load. */
  addCorruptVersion(basePath: string, model: ExampleModel, version: number): void {
    const staging = this.stage();
    fs.mkdirSync(staging);
    fs.writeFileSync(path.join(staging, model.modelFile), 'this is not a model');
    fs.renameSync(staging, path.join(basePath, String(version)));
  }

  /**
   * An old-style checkpoint export without any model file (as TF-Serving's bad_half_plus_two):
   * a version directory no platform recognises. It appears at once, as an upload by `mv`.
   */
  addOldExportVersion(basePath: string, version: number): void {
    const staging = this.stage();
    fs.mkdirSync(staging);
    for (const file of OLD_EXPORT_FILES) fs.writeFileSync(path.join(staging, file), `not a model: ${file}`);
    fs.renameSync(staging, path.join(basePath, String(version)));
  }

  /** Moves the version out of the base path at once, then deletes it. */
  removeVersion(basePath: string, version: number): void {
    const gone = this.stage();
    fs.renameSync(path.join(basePath, String(version)), gone);
    fs.rmSync(gone, { recursive: true, force: true });
  }

  /** Writes a file atomically (a reader polling it never sees half of it). */
  writeFile(file: string, text: string): void {
    const staging = this.stage();
    fs.writeFileSync(staging, text);
    fs.renameSync(staging, file);
  }

  cleanUp(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private stage(): string {
    const staging = path.join(this.root, 'staging');
    fs.mkdirSync(staging, { recursive: true });
    return path.join(staging, String(++this.staged));
  }
}

/** A ModelConfig as tensorflow.serving.ModelConfig's protobufjs object form. */
export interface ModelConfigObject {
  name: string;
  base_path: string;
  model_platform: string;
  model_version_policy?: { latest?: { num_versions: number }; all?: object; specific?: { versions: number[] } };
  version_labels?: Record<string, number>;
}

export function serverConfigMessage(models: ModelConfigObject[]) {
  return Protos.ModelServerConfig.fromObject({ model_config_list: { config: models } });
}

export function modelServerConfig(models: ModelConfigObject[]) {
  return modelServerConfigFromMessage(serverConfigMessage(models));
}

/** The text format of a model_config_list, for --model_config_file. */
export function modelConfigText(models: ModelConfigObject[]): string {
  const entries = models.map((model) => {
    const lines = [
      `name: "${model.name}"`,
      `base_path: "${model.base_path}"`,
      `model_platform: "${model.model_platform}"`,
    ];
    const policy = model.model_version_policy;
    if (policy?.all) lines.push('model_version_policy { all {} }');
    if (policy?.latest) lines.push(`model_version_policy { latest { num_versions: ${policy.latest.num_versions} } }`);
    if (policy?.specific) {
      lines.push(
        `model_version_policy { specific { ${policy.specific.versions.map((v) => `versions: ${v}`).join(' ')} } }`,
      );
    }
    for (const [label, version] of Object.entries(model.version_labels ?? {})) {
      lines.push(`version_labels { key: "${label}" value: ${version} }`);
    }
    return `  config {\n${lines.map((line) => `    ${line}`).join('\n')}\n  }`;
  });
  return `model_config_list {\n${entries.join('\n')}\n}\n`;
}

export interface VersionStatus {
  version: number;
  state: string;
  errorCode: number;
  errorMessage: string;
}

const STATE_NAMES: Record<number, string> = { 10: 'START', 20: 'LOADING', 30: 'AVAILABLE', 40: 'UNLOADING', 50: 'END' };
const identity = (buffer: Buffer) => buffer;

export interface Spec {
  name: string;
  version?: number;
  label?: string;
}

function modelSpec({ name, version, label }: Spec) {
  return {
    name,
    ...(version !== undefined ? { version: { value: version } } : {}),
    ...(label ? { version_label: label } : {}),
  };
}

/** tensorflow.serving's PredictionService and ModelService over grpc-js, as a TF-Serving client sees them. */
export class ServingClient {
  private readonly client: grpc.Client;

  constructor(target: string) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure());
  }

  /** Runs half_plus_two; the version that answered and y. */
  async predict(spec: Spec, timeoutMs = 10_000): Promise<{ version: number; y: number[] }> {
    const request = Protos.PredictRequest.encode(
      Protos.PredictRequest.fromObject({
        model_spec: modelSpec(spec),
        inputs: { x: { dtype: 1, tensor_shape: { dim: [{ size: INPUT_X.length }] }, float_val: INPUT_X } },
      }),
    ).finish();
    const bytes = await this.call('/tensorflow.serving.PredictionService/Predict', request, timeoutMs);
    const response = Protos.PredictResponse.toObject(Protos.PredictResponse.decode(bytes), { longs: Number });
    return { version: response.model_spec.version.value, y: response.outputs.y.float_val };
  }

  /** Predict with these inputs (TensorProto objects by alias); the decoded PredictResponse. */
  async predictTensors(spec: Spec, inputs: Record<string, object>, timeoutMs = 10_000): Promise<any> {
    const request = Protos.PredictRequest.encode(
      Protos.PredictRequest.fromObject({ model_spec: modelSpec(spec), inputs }),
    );
    const bytes = await this.call('/tensorflow.serving.PredictionService/Predict', request.finish(), timeoutMs);
    return Protos.PredictResponse.toObject(Protos.PredictResponse.decode(bytes), { longs: Number });
  }

  async status(spec: Spec): Promise<VersionStatus[]> {
    const request = Protos.GetModelStatusRequest.encode({ model_spec: modelSpec(spec) }).finish();
    const bytes = await this.call('/tensorflow.serving.ModelService/GetModelStatus', request);
    const response = Protos.GetModelStatusResponse.toObject(Protos.GetModelStatusResponse.decode(bytes), {
      longs: Number,
      defaults: true,
    });
    return response.model_version_status.map((status: any) => ({
      version: status.version,
      state: STATE_NAMES[status.state] ?? String(status.state),
      errorCode: status.status?.error_code ?? 0,
      errorMessage: status.status?.error_message ?? '',
    }));
  }

  /** {version: state} of every version GetModelStatus lists; {} while the model is unknown. */
  async states(name: string): Promise<Record<number, string>> {
    try {
      return Object.fromEntries((await this.status({ name })).map((status) => [status.version, status.state]));
    } catch (error) {
      if ((error as grpc.ServiceError).code === grpc.status.NOT_FOUND) return {};
      throw error;
    }
  }

  /** HandleReloadConfigRequest; resolves with the decoded ReloadConfigResponse. */
  async reload(config: unknown, metricNames: string[] = [], timeoutMs = 60_000): Promise<any> {
    const request = Protos.ReloadConfigRequest.encode(
      Protos.ReloadConfigRequest.fromObject({ config, metric_names: metricNames }),
    ).finish();
    const bytes = await this.call('/tensorflow.serving.ModelService/HandleReloadConfigRequest', request, timeoutMs);
    return Protos.ReloadConfigResponse.toObject(Protos.ReloadConfigResponse.decode(bytes), {
      longs: Number,
      defaults: true,
    });
  }

  close(): void {
    this.client.close();
  }

  private call(method: string, request: Uint8Array, timeoutMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method,
        identity,
        identity,
        Buffer.from(request),
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => (error ? reject(error) : resolve(response!)),
      );
    });
  }
}

/** Rejects with the gRPC error `call` fails with; fails if it succeeds. */
export async function rpcError(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('the call succeeded; an error was expected');
}

/** Polls `check` until it returns true; fails after `timeoutMs` with `what` and the last value seen. */
export async function waitUntil(
  what: string,
  check: () => Promise<unknown> | unknown,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    last = await check();
    if (last === true) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until GetModelStatus shows each listed version in its state (others may be anything). */
export function waitForStates(client: ServingClient, name: string, wanted: Record<number, string>, timeoutMs = 30_000) {
  return waitUntil(
    `${name} is ${JSON.stringify(wanted)}`,
    async () => {
      const states = await client.states(name);
      return Object.entries(wanted).every(([version, state]) => states[Number(version)] === state) || states;
    },
    timeoutMs,
  );
}

/** Log lines, kept for assertions (and printed when a test wants them). */
export function recordingLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  return { log: (severity, message) => lines.push(`${severity[0]} ${message}`), lines };
}

export interface InProcessServer {
  core: ServerCore;
  client: ServingClient;
  lines: string[];
  close(): Promise<void>;
}

/** ServerCore over the real frameworks, with the gRPC API on a free port (reload wired). */
export async function startInProcess(
  models: ModelConfigObject[],
  options: Partial<Omit<ServerCoreOptions, 'platforms' | 'log'>> = {},
): Promise<InProcessServer> {
  const { log, lines } = recordingLog();
  const core = new ServerCore(modelServerConfig(models), {
    platforms: platformRegistry({ savedModelTags: ['serve'] }),
    fileSystemPollWaitSeconds: 0.2,
    maxNumLoadRetries: 0,
    log,
    ...options,
  });
  await core.waitUntilModelsAvailable();
  const grpcServer = await startGrpcServer(core.manager, { port: 0, channelArguments: {} }, (config) =>
    core.reloadConfig(config),
  );
  const client = new ServingClient(`127.0.0.1:${grpcServer.port}`);
  return {
    core,
    client,
    lines,
    async close() {
      client.close();
      grpcServer.server.forceShutdown();
      await core.shutdown();
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface DuoserveProcess {
  client: ServingClient;
  /** The gRPC target `client` talks to (the server's own Unix socket). */
  grpcTarget: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * bin/duoserve with these flags, once GetModelStatus shows `readyModel` AVAILABLE. The client
 * talks to it over its own Unix socket, which no other server on this machine can share
 * (a free TCP port, found first, still goes to --port).
 */
export async function startDuoserve(args: string[], readyModel: string, timeoutMs = 60_000): Promise<DuoserveProcess> {
  const port = await freePort();
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-sock-'));
  const socketPath = path.join(socketDir, 'grpc.sock');
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'bin', 'duoserve'), `--port=${port}`, `--grpc_socket_path=${socketPath}`, ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const client = new ServingClient(`unix:${socketPath}`);
  const stop = async () => {
    client.close();
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    fs.rmSync(socketDir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      `bin/duoserve serves ${readyModel}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`bin/duoserve exited with ${child.exitCode}:\n${output}`);
        const states = await client.states(readyModel).catch(() => ({}));
        return Object.values(states).includes('AVAILABLE');
      },
      timeoutMs,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\nbin/duoserve's output ends:\n${output.slice(-4000)}`, {
      cause: error,
    });
  }
  return { client, grpcTarget: `unix:${socketPath}`, process: child, output: () => output, stop };
}
