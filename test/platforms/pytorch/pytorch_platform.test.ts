import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ServingError } from '../../../src/errors/serving_error';
import { loadBackendAddon } from '../../../src/native/backend_addon';
import { isPyTorchVersionDir, loadPyTorchModel } from '../../../src/platforms/pytorch/pytorch_platform';
import { DataType } from '../../../src/tensors/data_type';
import { torchModel } from './torch_fixtures';

async function assertLoadFails(dir: string, code: string, message: RegExp): Promise<void> {
  await assert.rejects(loadPyTorchModel(dir), (error: unknown) => {
    assert.ok(error instanceof ServingError, `not a ServingError: ${error}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

describe('PyTorch platform: loading', () => {
  let scratch: string;
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-pytorch-'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  /** A fresh version directory holding `files` (name -> contents or a fixture file to copy). */
  function versionDir(name: string, files: Record<string, string | { copy: string }>): string {
    const dir = path.join(scratch, name, '1');
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, contents] of Object.entries(files)) {
      if (typeof contents === 'string') fs.writeFileSync(path.join(dir, file), contents);
      else fs.copyFileSync(contents.copy, path.join(dir, file));
    }
    return dir;
  }

  it('describes forward() as JSON', async () => {
    const addon = loadBackendAddon('pytorch');
    const handle = await addon.load(torchModel('int_bool'), {});
    try {
      assert.deepEqual(JSON.parse(addon.describe(handle).toString()), {
        format: 'torchscript',
        inputs: [
          { name: 'ids', type: 'Tensor', optional: false },
          { name: 'mask', type: 'Tensor', optional: false },
          { name: 'offset', type: 'Optional[Tensor]', optional: true },
        ],
        outputs: { type: 'Tensor', names: ['output_0'] },
      });
    } finally {
      addon.unload(handle);
    }
  });

  it('builds signatures from forward() for scripted, tuple and dict models', async () => {
    const cases: Array<[string, string[], string[]]> = [
      ['scripted_two_inputs', ['x', 'y'], ['output_0']],
      ['tuple_out', ['x'], ['output_0', 'output_1']],
      ['dict_out', ['logits'], ['probabilities', 'classes']],
      ['int_bool', ['ids', 'mask', 'offset'], ['output_0']],
    ];
    for (const [model, inputs, outputs] of cases) {
      const loaded = await loadPyTorchModel(torchModel(model));
      try {
        const signature = loaded.signatures.get('serving_default')!;
        assert.equal(signature.methodName, 'tensorflow/serving/predict');
        assert.deepEqual([...signature.inputs.keys()], inputs, model);
        assert.deepEqual([...signature.outputs.keys()], outputs, model);
        for (const [alias, spec] of signature.inputs) assert.deepEqual(spec, { name: alias, dtype: 0, shape: null });
      } finally {
        loaded.addon.unload(loaded.handle);
      }
    }
  });

  it('applies signature.json (traced model)', async () => {
    const loaded = await loadPyTorchModel(torchModel('traced_mlp'));
    try {
      const signature = loaded.signatures.get('serving_default')!;
      assert.deepEqual([...signature.inputs], [['features', { name: 'x', dtype: DataType.DT_FLOAT, shape: [-1, 4] }]]);
      assert.deepEqual(
        [...signature.outputs],
        [['scores', { name: 'output_0', dtype: DataType.DT_FLOAT, shape: [-1, 2] }]],
      );
    } finally {
      loaded.addon.unload(loaded.handle);
    }
  });

  it('recognises PyTorch version directories', () => {
    assert.equal(isPyTorchVersionDir(torchModel('tuple_out')), true);
    assert.equal(isPyTorchVersionDir(versionDir('package', { 'model.pt2': 'x' })), true);
    assert.equal(isPyTorchVersionDir(versionDir('saved_model', { 'saved_model.pb': '' })), false);
    assert.equal(isPyTorchVersionDir(path.join(scratch, 'missing')), false);
  });

  it('fails cleanly on a corrupt model.pt, then loads a good one', async () => {
    const dir = versionDir('corrupt', { 'model.pt': 'this is not a zip archive' });
    await assertLoadFails(dir, 'INVALID_ARGUMENT', /cannot load TorchScript model .*corrupt\/1\/model\.pt/);
    const truncated = versionDir('truncated', {});
    const good = fs.readFileSync(path.join(torchModel('tuple_out'), 'model.pt'));
    fs.writeFileSync(path.join(truncated, 'model.pt'), good.subarray(0, good.length / 2));
    await assertLoadFails(truncated, 'INVALID_ARGUMENT', /truncated\/1\/model\.pt/);
    const loaded = await loadPyTorchModel(torchModel('tuple_out'));
    loaded.addon.unload(loaded.handle);
  });

  it('refuses a forward() argument it cannot feed, naming it', async () => {
    await assertLoadFails(
      torchModel('int_argument'),
      'INVALID_ARGUMENT',
      /argument 'repeats' has type int and no default/,
    );
  });

  it('tells which model file is missing, ambiguous or unreadable', async () => {
    await assertLoadFails(versionDir('empty', {}), 'NOT_FOUND', /expected model\.pt \(TorchScript\) or one \*\.pt2/);
    await assertLoadFails(path.join(scratch, 'nowhere', '1'), 'NOT_FOUND', /does not exist/);
    await assertLoadFails(
      versionDir('aoti', { 'model.pt2': 'x' }),
      'INVALID_ARGUMENT',
      /cannot load AOTInductor package .*model\.pt2/,
    );
    await assertLoadFails(
      versionDir('two_packages', { 'a.pt2': 'x', 'b.pt2': 'x' }),
      'INVALID_ARGUMENT',
      /holds several \.pt2 packages \(a\.pt2, b\.pt2, \.\.\.\); keep only one/,
    );
    await assertLoadFails(
      versionDir('both', { 'model.pt': 'x', 'model.pt2': 'x' }),
      'INVALID_ARGUMENT',
      /both model\.pt \(TorchScript\) and model\.pt2/,
    );
  });

  it('rejects a bad signature.json and unloads the model', async () => {
    const model = { copy: path.join(torchModel('scripted_two_inputs'), 'model.pt') };
    await assertLoadFails(
      versionDir('bad_alias', { 'model.pt': model, 'signature.json': '{"inputs": {"x": {}, "z": {}}}' }),
      'INVALID_ARGUMENT',
      /"z" names "z", which is not a forward\(\) argument \(forward\(\) takes: x, y\)/,
    );
    await assertLoadFails(
      versionDir('bad_json', { 'model.pt': model, 'signature.json': '{inputs' }),
      'INVALID_ARGUMENT',
      /signature\.json:1:2: not valid JSON: Missing a name for object member\.$/,
    );
  });
});
