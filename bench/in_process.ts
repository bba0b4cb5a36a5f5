/**
 * The same model with no server: loaded in this process through its platform module and run
 * by calling the addon directly, with the input TensorProto bytes the server would hand it and
 * the output encoding the server asks for ('fields', as TF-Serving answers Predict). What is
 * left out compared with the server is exactly the serving layer: transport, envelope, lookup.
 */
import type { BackendAddon, ModelHandle, NativeOutput } from '../src/native/backend_addon';
import { loadPyTorchModel } from '../src/platforms/pytorch/pytorch_platform';
import { loadTensorFlowModel } from '../src/platforms/tensorflow/tensorflow_platform';
import { DEFAULT_SIGNATURE_NAME, type SignatureMap } from '../src/servables/signature';
import type { BenchModel } from './models';

export interface InProcessModel {
  run(): Promise<Array<[string, NativeOutput]>>;
  unload(): void;
}

interface Loaded {
  handle: ModelHandle;
  signatures: SignatureMap;
  addon: BackendAddon;
}

async function load(model: BenchModel): Promise<Loaded> {
  switch (model.platform) {
    case 'tensorflow':
      return loadTensorFlowModel(model.versionDir, { tags: ['serve'] });
    case 'pytorch':
      return loadPyTorchModel(model.versionDir);
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
