/**
 * Tensor bytes copied (the addons' copyStats) by one request of each way of running
 * features -> ranker, measured in this process (the server's counter is not visible from
 * outside): the chain, and the two models run one after the other with a client's decode and
 * re-encode in between. Same request bytes and encodings as the server would see over gRPC.
 */
import type { Manager } from '../src/core/manager';
import type { ServableHandle } from '../src/core/servable_handle';
import type { ServableRequest } from '../src/core/servable_request';
import { notFound } from '../src/errors/serving_error';
import { loadTensorCodec } from '../src/native/backend_addon';
import { chainPlatform } from '../src/platforms/chain/chain_platform';
import { loadPyTorchModel } from '../src/platforms/pytorch/pytorch_platform';
import { loadTensorFlowModel } from '../src/platforms/tensorflow/tensorflow_platform';
import type { InferenceServable } from '../src/servables/inference_servable';
import { ModelServable } from '../src/servables/model_servable';
import { predict } from '../src/servables/predictor';
import { decodeTensorProto } from './payloads';

export interface CopyCount {
  copies: number;
  bytes: number;
}

/** Serves loaded models by name, each as version 1: just enough for a chain to run. */
class FixedModels implements Manager {
  constructor(private readonly models: Map<string, InferenceServable>) {}

  getServableHandle<T>(request: ServableRequest): ServableHandle<T> {
    const servable = this.models.get(request.name);
    if (!servable) throw notFound(`Servable not found for request: Latest(${request.name})`);
    return { id: { name: request.name, version: 1 }, servable: servable as T, release: () => {} };
  }
  resolveVersionLabel(name: string, label: string): number {
    throw notFound(`no label ${label} for ${name}`);
  }
  listAvailableServableIds() {
    return [...this.models.keys()].map((name) => ({ name, version: 1 }));
  }
  getVersionStates() {
    return [];
  }
}

export interface InProcessChain {
  /** Copies of one request through the chain, and through the models called in turn. */
  count(
    input: Buffer,
    tensorContent: (values: Float32Array, shape: number[]) => Buffer,
  ): Promise<{ chain: CopyCount; clientChained: CopyCount }>;
  unload(): void;
}

export async function loadInProcessChain(dirs: {
  features: string;
  ranker: string;
  chain: string;
}): Promise<InProcessChain> {
  const features = await loadTensorFlowModel(dirs.features, { tags: ['serve'] });
  const ranker = await loadPyTorchModel(dirs.ranker);
  const featuresServable = new ModelServable(features.addon, features.handle, features.signatures, {
    runtime: 'TF1',
  });
  const rankerServable = new ModelServable(ranker.addon, ranker.handle, ranker.signatures, {
    runtime: 'TorchScript',
  });
  const manager = new FixedModels(
    new Map<string, InferenceServable>([
      ['features', featuresServable],
      ['ranker', rankerServable],
    ]),
  );
  const chain = await chainPlatform(manager).load(dirs.chain);
  const codec = loadTensorCodec();

  const during = async (work: () => Promise<unknown>): Promise<CopyCount> => {
    const before = codec.copyStats();
    await work();
    const after = codec.copyStats();
    return { copies: after.copies - before.copies, bytes: after.bytes - before.bytes };
  };
  const run = (servable: InferenceServable, alias: string, tensor: Buffer) =>
    predict(servable, { signatureName: '', inputs: new Map([[alias, tensor]]), outputFilter: [], encoding: 'fields' });

  return {
    async count(input, tensorContent) {
      const chainCopies = await during(() => run(chain, 'x', input));
      const clientCopies = await during(async () => {
        const produced = decodeTensorProto((await run(featuresServable, 'x', input)).get('features') as Buffer);
        await run(rankerServable, 'features', tensorContent(produced.values, produced.shape));
      });
      return { chain: chainCopies, clientChained: clientCopies };
    },
    unload() {
      featuresServable.unload();
      rankerServable.unload();
    },
  };
}
