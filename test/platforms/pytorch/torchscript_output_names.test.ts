/**
 * TorchScript output names known before any run (read from forward()'s graph by the addon):
 * what GetModelMetadata's signature lists is what Predict returns, and where only a run can
 * tell the names, the load log says so. Over the real fixtures of export_torch_fixtures.py.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { LogSeverity } from '../../../src/core/log';
import { loadBackendAddon } from '../../../src/native/backend_addon';
import { PlatformLoader } from '../../../src/platforms/platform_loader';
import type { LoadedServable } from '../../../src/platforms/platform';
import { pyTorchPlatform } from '../../../src/platforms/pytorch/pytorch_platform';
import { assertHostEquals, tensorSource, torchModel, torchReference } from './torch_fixtures';
import { predict } from '../../../src/servables/predictor';

/** Fixture -> the outputs its signature lists (in order), or null where only a run can tell. */
const EXPECTED: Record<string, string[] | null> = {
  scripted_two_inputs: ['output_0'],
  tuple_out: ['output_0', 'output_1'],
  nested_tuple: ['output_0', 'output_1', 'output_2'],
  list_out: ['output_0', 'output_1'],
  optional_out: ['output_0'],
  dict_out: ['probabilities', 'classes'],
  branch_dict: ['scores', 'labels'],
  traced_dict: ['doubled', 'total'],
  computed_keys: null,
  branches_disagree: null,
};

interface Loaded {
  servable: LoadedServable;
  log: Array<[LogSeverity, string]>;
}

async function load(name: string): Promise<Loaded> {
  const log: Array<[LogSeverity, string]> = [];
  const loader = new PlatformLoader(pyTorchPlatform(), torchModel(name), {
    log: (severity, message) => log.push([severity, message]),
    enableModelWarmup: false,
  });
  await loader.load();
  return { servable: loader.servable() as LoadedServable, log };
}

function referenceInputs(name: string) {
  return new Map(Object.entries(torchReference(name).inputs).map(([input, tensor]) => [input, tensorSource(tensor)]));
}

function warnings(loaded: Loaded): string[] {
  return loaded.log.filter(([severity]) => severity === 'WARNING').map(([, message]) => message);
}

describe('TorchScript output names', () => {
  const models = new Map<string, Loaded>();
  before(async () => {
    for (const name of Object.keys(EXPECTED)) models.set(name, await load(name));
  });
  after(() => {
    for (const { servable } of models.values()) servable.unload();
  });

  it('lists the output names before any run where forward() fixes them', () => {
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const outputs = models.get(name)!.servable.signatures.get('serving_default')!.outputs;
      assert.deepEqual([...outputs.keys()], expected ?? [], name);
      for (const [alias, spec] of outputs) assert.deepEqual(spec, { name: alias, dtype: 0, shape: null }, name);
    }
  });

  it('returns from Predict exactly the outputs the signature lists, with the values PyTorch computed', async () => {
    for (const name of Object.keys(EXPECTED)) {
      const reference = torchReference(name);
      const { servable } = models.get(name)!;
      const listed = [...servable.signatures.get('serving_default')!.outputs.keys()];
      const outputs = await predict(servable, {
        signatureName: '',
        inputs: referenceInputs(name),
        outputFilter: [],
        encoding: 'host',
      });
      assert.deepEqual([...outputs.keys()], Object.keys(reference.outputs), `${name}: what forward() returned`);
      if (listed.length > 0) assert.deepEqual([...outputs.keys()], listed, `${name}: Predict and metadata agree`);
      for (const [output, expected] of Object.entries(reference.outputs))
        assertHostEquals(outputs.get(output)!, expected);
    }
  });

  it('serves each listed output alone through an output filter', async () => {
    for (const [name, expected] of Object.entries(EXPECTED)) {
      for (const output of [...(expected ?? [])].reverse()) {
        const { servable } = models.get(name)!;
        const outputs = await predict(servable, {
          signatureName: '',
          inputs: referenceInputs(name),
          outputFilter: [output],
          encoding: 'host',
        });
        assert.deepEqual([...outputs.keys()], [output], name);
        assertHostEquals(outputs.get(output)!, torchReference(name).outputs[output]);
      }
    }
  });

  it('says in the load log why the names are not listed, and points to signature.json', () => {
    assert.deepEqual(warnings(models.get('computed_keys')!), [
      `${torchModel('computed_keys')}: forward() returns Dict[str, Tensor] whose output names only a run can tell: ` +
        'aten::_set_item uses the dict after it is built, so what it holds may change. GetModelMetadata ' +
        'lists no outputs and Predict returns whatever forward() returns; name them in signature.json ' +
        '("outputs": {"<name>": {}}) to list them',
    ]);
    assert.match(
      warnings(models.get('branches_disagree')!).join('\n'),
      /only a run can tell: the branches of an if return dicts of different keys\. /,
    );
    for (const [name, expected] of Object.entries(EXPECTED)) {
      if (expected !== null) assert.deepEqual(warnings(models.get(name)!), [], name);
    }
  });

  it('describes what forward() returns and why its names are unknown', async () => {
    const addon = loadBackendAddon('pytorch');
    const describe = async (name: string) => {
      const handle = await addon.load(torchModel(name), {});
      try {
        return JSON.parse(addon.describe(handle).toString()).outputs;
      } finally {
        addon.unload(handle);
      }
    };
    assert.deepEqual(await describe('nested_tuple'), {
      type: 'Tuple[Tensor, Tuple[Tensor, Tensor]]',
      names: ['output_0', 'output_1', 'output_2'],
    });
    assert.deepEqual(await describe('branches_disagree'), {
      type: 'Dict[str, Tensor]',
      names: null,
      unknown_because: 'the branches of an if return dicts of different keys',
    });
  });

  it('fails a run that returns None for an Optional[Tensor] output, and keeps serving', async () => {
    const { servable } = models.get('optional_out')!;
    const empty = new Map([['x', { dtype: 1, shape: [0], data: new Float32Array(0) }]]);
    await assert.rejects(predict(servable, { signatureName: '', inputs: empty, outputFilter: [], encoding: 'host' }), {
      code: 'INVALID_ARGUMENT',
      message: /forward\(\) returned a None; duoserve serves a Tensor/,
    });
    const outputs = await predict(servable, {
      signatureName: '',
      inputs: referenceInputs('optional_out'),
      outputFilter: [],
      encoding: 'host',
    });
    assert.deepEqual([...outputs.keys()], ['output_0']);
  });
});
