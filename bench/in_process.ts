/**
 * The same model with no server: loaded in this process through its platform module and run
 * by calling the addon directly, with the input TensorProto bytes the server would hand it and
 * the output encoding the server asks for ('fields', as TF-Serving answers Predict). What is
 * left out compared with the server is exactly the serving layer: transport, envelope, lookup.
 * Batched (loadInProcessBatched): the server's own platform registry with --enable_batching's
 * parameters, its shared batch scheduler and predict(), so that concurrent callers in this
 * process share batches as concurrent requests do.
 */
import * as os from 'node:os';
import type { BatchingParameters } from '../src/batching/batching_parameters';
import { schedulerOptions } from '../src/batching/batching_parameters';
import { SharedBatchScheduler } from '../src/batching/shared_batch_scheduler';
import { type ThreadBudget, threadBudget } from '../src/config/thread_budget';
import type { BackendAddon, ModelHandle, NativeOutput } from '../src/native/backend_addon';
import { loadPyTorchModel, torchThreadOptions } from '../src/platforms/pytorch/pytorch_platform';
import { sessionConfigFromFlags } from '../src/platforms/tensorflow/session_config';
import { platformRegistry } from '../src/platforms/registry';
import { loadTensorFlowModel } from '../src/platforms/tensorflow/tensorflow_platform';
import { predict } from '../src/servables/predictor';
import { DEFAULT_SIGNATURE_NAME, type SignatureMap } from '../src/servables/signature';
import type { BenchModel } from './models';

export interface InProcessModel {
  run(): Promise<Array<[string, NativeOutput]>>;
  unload(): void;
}

export interface InProcessBatchedModel {
  run(): Promise<Map<string, NativeOutput>>;
  unload(): void;
}

interface Loaded {
  handle: ModelHandle;
  signatures: SignatureMap;
  addon: BackendAddon;
}

/**
 * The thread budget bin/duoserve takes with no thread flag (src/config/thread_budget.ts), with
 * libuv's pool sized to it: the in-process call runs under the same threads as the server. Call
 * before anything uses the pool (it is fixed from then on).
 */
export function useServerThreadBudget(): ThreadBudget {
  const budget = threadBudget({
    cores: os.availableParallelism(),
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE,
    tensorflowIntraOpParallelism: 0,
    tensorflowInterOpParallelism: 0,
    tensorflowSessionParallelism: 0,
    torchIntraOpThreads: 0,
    torchInterOpThreads: 0,
  });
  process.env.UV_THREADPOOL_SIZE = String(budget.concurrentRuns);
  serverBudget = budget;
  return budget;
}

let serverBudget: ThreadBudget | undefined;

async function load(model: BenchModel): Promise<Loaded> {
  const budget = serverBudget ?? useServerThreadBudget();
  switch (model.platform) {
    case 'tensorflow':
      return loadTensorFlowModel(model.versionDir, {
        tags: ['serve'],
        sessionConfig: sessionConfigFromFlags({ configFile: '', ...budget.tensorflow }),
      });
    case 'pytorch':
      return loadPyTorchModel(model.versionDir, torchThreadOptions(budget.torch));
    default:
      throw new Error(`no in-process loader for platform ${model.platform}`);
  }
}

/** Framework tensor name of a signature alias, from the loaded model's own signatures. */
function tensorName(signatures: SignatureMap, direction: 'inputs' | 'outputs', alias: string): string {
  const spec = signatures.get(DEFAULT_SIGNATURE_NAME)?.[direction].get(alias);
  if (!spec) throw new Error(`${DEFAULT_SIGNATURE_NAME} has no ${direction.slice(0, -1)} "${alias}"`);
  return spec.name;
}

export async function loadInProcess(model: BenchModel, tensorProto: Buffer): Promise<InProcessModel> {
  const { handle, signatures, addon } = await load(model);
  const input = tensorName(signatures, 'inputs', model.inputAlias);
  const output = tensorName(signatures, 'outputs', model.outputAlias);
  return {
    run: () => addon.run(handle, [[input, tensorProto]], [output], 'fields'),
    unload: () => addon.unload(handle),
  };
}

/** The model as the server batches it (its platform, scheduler and predict()), in this process. */
export async function loadInProcessBatched(
  model: BenchModel,
  tensorProto: Buffer,
  parameters: BatchingParameters,
): Promise<InProcessBatchedModel> {
  const budget = serverBudget ?? useServerThreadBudget();
  const scheduler = new SharedBatchScheduler(schedulerOptions(parameters, budget.concurrentRuns));
  const platform = platformRegistry({
    savedModelTags: ['serve'],
    sessionConfig: sessionConfigFromFlags({ configFile: '', ...budget.tensorflow }),
    torchThreads: budget.torch,
    batching: { parameters, perModel: false, scheduler },
  }).get(model.platform);
  if (!platform) throw new Error(`no in-process platform ${model.platform}`);
  const servable = await platform.load(model.versionDir);
  const request = {
    signatureName: DEFAULT_SIGNATURE_NAME,
    inputs: new Map([[model.inputAlias, tensorProto]]),
    outputFilter: [],
    encoding: 'fields' as const,
  };
  return { run: () => predict(servable, request), unload: () => servable.unload() };
}
