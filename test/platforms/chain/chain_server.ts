/**
 * A ServerCore serving real exported models (var/models/examples, the TensorFlow fixtures)
 * and chains whose chain.pbtxt a test writes, for the chain tests. Chains look their models
 * up in the core's own manager.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseModelServerConfigText } from '../../../src/config/model_server_config';
import type { Log } from '../../../src/core/log';
import type { Manager } from '../../../src/core/manager';
import type { ServableHandle } from '../../../src/core/servable_handle';
import type { HostTensorOutput, NativeOutput } from '../../../src/native/backend_addon';
import { platformRegistry } from '../../../src/platforms/registry';
import type { InferenceServable, RunRequest } from '../../../src/servables/inference_servable';
import { ServerCore } from '../../../src/server/server_core';
import { REPO_ROOT, tensorFlowFixtures } from '../tensorflow/fixtures';
import { predict } from '../../../src/servables/predictor';

export const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');

export interface ServedModel {
  name: string;
  basePath: string;
  platform: string;
  /** Text inside `model_version_policy { ... }`, e.g. "all {}". */
  versionPolicy?: string;
  labels?: Record<string, number>;
}

/** An example model of var/models/examples. */
export function example(name: string, platform: 'tensorflow' | 'pytorch'): ServedModel {
  return { name, basePath: path.join(EXAMPLES, name), platform };
}

/** A model of test/fixtures/export_tf_fixtures.py. */
export function tensorFlowFixture(name: string): ServedModel {
  return { name, basePath: path.join(tensorFlowFixtures(), name), platform: 'tensorflow' };
}

/** A fresh directory for chain base paths and model copies; removed by ChainServer.stop(). */
export function scratchDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-chain-'));
}

/** Writes `<root>/<name>/<version>/chain.pbtxt` and returns the chain's ServedModel. */
export function writeChain(
  root: string,
  name: string,
  versions: Record<number, string>,
  extra: Partial<ServedModel> = {},
): ServedModel {
  for (const [version, text] of Object.entries(versions)) {
    const dir = path.join(root, name, version);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'chain.pbtxt'), text);
  }
  return { name, basePath: path.join(root, name), platform: 'chain', ...extra };
}

function configText(models: ServedModel[]): string {
  const entries = models.map((model) => {
    const labels = Object.entries(model.labels ?? {})
      .map(([label, version]) => `version_labels { key: "${label}" value: ${version} }`)
      .join(' ');
    const policy = model.versionPolicy ? `model_version_policy { ${model.versionPolicy} }` : '';
    return `config { name: "${model.name}" base_path: "${model.basePath}" model_platform: "${model.platform}" ${policy} ${labels} }`;
  });
  return `model_config_list { ${entries.join('\n')} }`;
}

export interface ChainServer {
  core: ServerCore;
  manager: Manager;
  /** Every log line so far, "SEVERITY message". */
  logs: string[];
  /** Runs `name` (latest) and releases its handle once done. */
  run(name: string, request: Partial<RunRequest> & Pick<RunRequest, 'inputs'>): Promise<Map<string, NativeOutput>>;
  /** Resolves once `name` has `version` (any, if omitted) AVAILABLE; rejects if it ended instead. */
  waitAvailable(name: string, version?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ChainServerOptions {
  numLoadThreads?: number;
  pollWaitSeconds?: number;
  /** Directories removed on stop(). */
  scratch?: string[];
  /** --allow_version_labels_for_unavailable_models (labels in the first config need it). */
  allowVersionLabelsForUnavailableModels?: boolean;
  /** --max_num_load_retries (the manager's default, 5, when absent). */
  maxNumLoadRetries?: number;
}

export async function startChainServer(models: ServedModel[], options: ChainServerOptions = {}): Promise<ChainServer> {
  const logs: string[] = [];
  const log: Log = (severity, message) => logs.push(`${severity} ${message}`);
  // The chain platform needs the manager, which the core creates: this one forwards to it.
  let core: ServerCore | undefined;
  const manager = new Proxy({} as Manager, {
    get: (_target, key) => {
      const value = Reflect.get(core!.manager, key);
      return typeof value === 'function' ? value.bind(core!.manager) : value;
    },
  });
  const platforms = platformRegistry({ savedModelTags: [] }, manager);
  core = new ServerCore(parseModelServerConfigText(configText(models), 'test.config'), {
    platforms,
    fileSystemPollWaitSeconds: options.pollWaitSeconds ?? 1,
    numLoadThreads: options.numLoadThreads ?? 4,
    allowVersionLabelsForUnavailableModels: options.allowVersionLabelsForUnavailableModels,
    maxNumLoadRetries: options.maxNumLoadRetries,
    log,
  });
  const started = core;
  const waitAvailable = async (name: string, version?: number) => {
    const [state] = await started.manager.monitor.waitUntilServablesReachState([{ name, version }], 'AVAILABLE');
    if (state.state !== 'AVAILABLE') {
      throw new Error(`${name} ${version ?? ''} ended: ${state.error?.message}\n${logs.join('\n')}`);
    }
  };
  return {
    core: started,
    manager: started.manager,
    logs,
    waitAvailable,
    async run(name, request) {
      const handle: ServableHandle<InferenceServable> = started.manager.getServableHandle({ name });
      try {
        return await predict(handle.servable, { signatureName: '', outputFilter: [], encoding: 'host', ...request });
      } finally {
        handle.release();
      }
    },
    async stop() {
      await started.shutdown();
      for (const dir of options.scratch ?? []) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The values of a 'host' output. */
export function floats(output: NativeOutput | undefined): Float32Array {
  const host = output as HostTensorOutput;
  if (!host?.data) throw new Error('expected a numeric host output');
  return new Float32Array(host.data);
}

/** A float32 request input. */
export function floatInput(values: number[] | Float32Array, shape: number[]) {
  return { dtype: 1, shape, data: Float32Array.from(values) };
}

/** Deterministic values in [-1, 1). */
export function seeded(count: number, seed = 7): Float32Array {
  const values = new Float32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    values[i] = (state / 2 ** 31) * 2 - 1;
  }
  return values;
}
