/**
 * Loading AOTInductor .pt2 packages through the pytorch platform: what the addon describes,
 * the signatures built from the package (dynamic dimensions as -1), and every package that must
 * not load, each with an error that says why.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ServingError } from '../../../src/errors/serving_error';
import { loadBackendAddon } from '../../../src/native/backend_addon';
import { loadPyTorchModel } from '../../../src/platforms/pytorch/pytorch_platform';
import { DataType } from '../../../src/tensors/data_type';
import { aotiModel } from './aoti_fixtures';

const { DT_FLOAT, DT_INT64, DT_BOOL } = DataType;

async function assertLoadFails(dir: string, code: string, message: RegExp, options?: Record<string, string>) {
  await assert.rejects(loadPyTorchModel(dir, options), (error: unknown) => {
    assert.ok(error instanceof ServingError, `not a ServingError: ${error}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

async function signatureOf(dir: string) {
  const loaded = await loadPyTorchModel(dir);
  try {
    assert.equal(loaded.format, 'aoti');
    return loaded.signatures.get('serving_default')!;
  } finally {
    loaded.addon.unload(loaded.handle);
  }
}

describe('AOTInductor packages: loading', () => {
  let scratch: string;
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-aoti-'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('describes the package: format, metadata and call spec', async () => {
    const addon = loadBackendAddon('pytorch');
    const handle = await addon.load(aotiModel('multi_io'), {});
    try {
      const description = JSON.parse(addon.describe(handle).toString());
      assert.equal(description.format, 'aoti');
      assert.equal(description.file, 'model.pt2');
      assert.equal(description.runners, 4, "libuv's default pool size");
      assert.equal(description.metadata.AOTI_DEVICE_KEY, 'cpu');
      assert.equal(description.metadata.AOTI_PLATFORM, 'linux');
      assert.ok(description.metadata.duoserve_signature, 'the recorded signature');
      // torch's pytree JSON: (args, kwargs) with three positional tensors; a dict of two outputs.
      const [, inSpec] = JSON.parse(description.in_spec);
      assert.equal(inSpec.type, 'builtins.tuple');
      assert.equal(inSpec.children_spec[0].children_spec.length, 3);
      const [, outSpec] = JSON.parse(description.out_spec);
      assert.equal(outSpec.type, 'builtins.dict');
      assert.deepEqual(JSON.parse(outSpec.context), ['score', 'total']);
    } finally {
      addon.unload(handle);
    }
  });

  it('lets as many runs execute at once as the worker pool has threads', async () => {
    const loaded = await loadPyTorchModel(aotiModel('dynamic_mlp'));
    try {
      const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
      assert.equal(JSON.parse(loaded.addon.describe(loaded.handle).toString()).runners, pool);
    } finally {
      loaded.addon.unload(loaded.handle);
    }
  });

  it('takes names, dtypes and shapes (dynamic dims -1) from the package metadata', async () => {
    const mlp = await signatureOf(aotiModel('dynamic_mlp'));
    assert.equal(mlp.methodName, 'tensorflow/serving/predict');
    assert.deepEqual([...mlp.inputs], [['x', { name: 'input_0', dtype: DT_FLOAT, shape: [-1, 4] }]]);
    assert.deepEqual([...mlp.outputs], [['output_0', { name: 'output_0', dtype: DT_FLOAT, shape: [-1, 2] }]]);

    const multi = await signatureOf(aotiModel('multi_io'));
    assert.deepEqual(
      [...multi.inputs],
      [
        ['x', { name: 'input_0', dtype: DT_FLOAT, shape: [-1, 4] }],
        ['ids', { name: 'input_1', dtype: DT_INT64, shape: [-1, 3] }],
        ['mask', { name: 'input_2', dtype: DT_BOOL, shape: [-1, 3] }],
      ],
    );
    assert.deepEqual(
      [...multi.outputs],
      [
        ['score', { name: 'output_0', dtype: DT_FLOAT, shape: [-1] }],
        ['total', { name: 'output_1', dtype: DT_INT64, shape: [-1] }],
      ],
    );
  });

  it('names keyword inputs from the call spec and takes what it lacks from signature.json', async () => {
    const signature = await signatureOf(aotiModel('kwargs_tuple'));
    assert.deepEqual(
      [...signature.inputs],
      [
        ['features', { name: 'input_0', dtype: DT_FLOAT, shape: [-1, 3] }],
        ['offset', { name: 'input_1', dtype: DT_FLOAT, shape: [-1] }],
      ],
    );
    assert.deepEqual(
      [...signature.outputs],
      [
        ['sums', { name: 'output_0', dtype: DT_FLOAT, shape: [-1] }],
        ['transposed', { name: 'output_1', dtype: DT_FLOAT, shape: [3, -1] }],
      ],
    );
  });

  it('lets signature.json rename a recorded input and keep its dtype and shape', async () => {
    const dir = path.join(scratch, 'renamed', '1');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(aotiModel('dynamic_mlp'), 'model.pt2'), path.join(dir, 'model.pt2'));
    fs.writeFileSync(path.join(dir, 'signature.json'), '{"inputs": {"features": {"name": "x"}}}');
    const signature = await signatureOf(dir);
    assert.deepEqual([...signature.inputs], [['features', { name: 'input_0', dtype: DT_FLOAT, shape: [-1, 4] }]]);
  });

  it('refuses a package that states no input shapes (its code would not check them)', async () => {
    await assertLoadFails(
      aotiModel('no_signature'),
      'INVALID_ARGUMENT',
      /input "features" \(input_0\) has no dtype; AOTInductor code does not check its inputs/,
    );
  });

  it('refuses a package compiled for cuda, naming the device, before libtorch loads it', async () => {
    await assertLoadFails(
      aotiModel('cuda_device'),
      'FAILED_PRECONDITION',
      /compiled for device 'cuda' \(compute capability 90\) \(AOTI_DEVICE_KEY\); duoserve runs AOTInductor packages on 'cpu' only/,
    );
  });

  it('refuses a package compiled for another machine architecture', async () => {
    await assertLoadFails(
      aotiModel('foreign_machine'),
      'FAILED_PRECONDITION',
      new RegExp(`compiled for machine '\\w+' \\(AOTI_MACHINE\\); this server runs on '${os.machine()}'`),
    );
  });

  it('fails cleanly on corrupt or foreign .pt2 files, then loads a good one', async () => {
    await assertLoadFails(
      aotiModel('truncated'),
      'INVALID_ARGUMENT',
      /cannot load AOTInductor package .*truncated\/1\/model\.pt2: .*zip archive/,
    );
    const garbage = path.join(scratch, 'garbage', '1');
    fs.mkdirSync(garbage, { recursive: true });
    fs.writeFileSync(path.join(garbage, 'model.pt2'), 'this is not a zip archive');
    await assertLoadFails(garbage, 'INVALID_ARGUMENT', /cannot load AOTInductor package .*garbage\/1\/model\.pt2/);
    await assertLoadFails(
      aotiModel('exported_program'),
      'INVALID_ARGUMENT',
      /holds an ExportedProgram \(torch\.export\.save\) but no AOTInductor-compiled model/,
    );
    assert.equal((await signatureOf(aotiModel('dynamic_mlp'))).inputs.size, 1);
  });

  it('refuses a version directory holding both formats, and a bad aoti_runners option', async () => {
    await assertLoadFails(
      aotiModel('both_formats'),
      'INVALID_ARGUMENT',
      /holds both model\.pt \(TorchScript\) and model\.pt2/,
    );
    await assertLoadFails(
      aotiModel('dynamic_mlp'),
      'INVALID_ARGUMENT',
      /aoti_runners must be an integer from 1 to 256, not '0'/,
      {
        aoti_runners: '0',
      },
    );
  });

  it('loads the same package many times at once (loads take turns inside the addon)', async () => {
    const loads = await Promise.all(
      Array.from({ length: 6 }, (_, i) => loadPyTorchModel(aotiModel(i % 2 ? 'multi_io' : 'dynamic_mlp'))),
    );
    try {
      loads.forEach((loaded, i) => assert.equal(loaded.signatures.get('serving_default')!.inputs.size, i % 2 ? 3 : 1));
    } finally {
      for (const loaded of loads) loaded.addon.unload(loaded.handle);
    }
  });
});
