/**
 * Running AOTInductor packages as the server does (pytorch platform -> AotiServable -> addon):
 * answers equal to the Python ExportedProgram's for several batch sizes, requests that do not
 * fit the signature refused before they reach the compiled code, and concurrent runs.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  loadTensorCodec,
  type HostTensorOutput,
  type OutputEncoding,
  type TensorSource,
} from '../../../src/native/backend_addon';
import type { LoadedServable } from '../../../src/platforms/platform';
import { loadPyTorchModel, pyTorchPlatform } from '../../../src/platforms/pytorch/pytorch_platform';
import { aotiCases, aotiModel } from './aoti_fixtures';
import { assertHostEquals, assertRejectsWith, TensorJson, tensorProtoBytes, tensorSource } from './torch_fixtures';
import { predict } from '../../../src/servables/predictor';

// The compiled kernels may order float sums differently from eager PyTorch.
const TOLERANCE = 1e-4;

type SourceForm = 'object' | 'TensorProto';

function sourceOf(tensor: TensorJson, form: SourceForm): TensorSource {
  return form === 'object' ? tensorSource(tensor) : tensorProtoBytes(tensor);
}

function request(inputs: Record<string, TensorSource>, outputFilter: string[] = [], encoding: OutputEncoding = 'host') {
  return { signatureName: '', inputs: new Map(Object.entries(inputs)), outputFilter, encoding };
}

function casesAsRequests(name: string, form: SourceForm) {
  return aotiCases(name).map((reference) => ({
    reference,
    inputs: Object.fromEntries(
      Object.entries(reference.inputs).map(([alias, tensor]) => [alias, sourceOf(tensor, form)]),
    ),
  }));
}

describe('AOTInductor packages: running', () => {
  const servables = new Map<string, LoadedServable>();
  before(async () => {
    for (const name of ['dynamic_mlp', 'multi_io', 'kwargs_tuple'])
      servables.set(name, await pyTorchPlatform().load(aotiModel(name)));
  });
  after(() => {
    for (const servable of servables.values()) servable.unload();
  });

  for (const name of ['dynamic_mlp', 'multi_io', 'kwargs_tuple']) {
    for (const form of ['object', 'TensorProto'] as const) {
      it(`${name}: answers as the ExportedProgram for every batch size (${form} inputs)`, async () => {
        for (const { reference, inputs } of casesAsRequests(name, form)) {
          const outputs = await predict(servables.get(name)!, request(inputs));
          assert.deepEqual([...outputs.keys()].sort(), Object.keys(reference.outputs).sort());
          for (const [alias, expected] of Object.entries(reference.outputs)) {
            assertHostEquals(outputs.get(alias)!, expected, TOLERANCE);
          }
        }
      });
    }
  }

  it('returns only the outputs asked for, as TensorProto bytes too', async () => {
    const [{ inputs }] = casesAsRequests('multi_io', 'TensorProto');
    const outputs = await predict(servables.get('multi_io')!, request(inputs, ['total'], 'content'));
    assert.deepEqual([...outputs.keys()], ['total']);
    assert.ok(outputs.get('total') instanceof Uint8Array);
  });

  it('refuses inputs whose shape does not fit the signature, in either form', async () => {
    const mlp = servables.get('dynamic_mlp')!;
    const wrong: Array<[number[], string]> = [
      [[2, 5], '2,5'],
      [[8], '8'],
      [[1, 2, 4], '1,2,4'],
    ];
    for (const [shape, text] of wrong) {
      const tensor: TensorJson = {
        dtype: 'DT_FLOAT',
        shape,
        values: new Array(shape.reduce((a, b) => a * b, 1)).fill(1),
      };
      for (const form of ['object', 'TensorProto'] as const) {
        await assertRejectsWith(
          predict(mlp, request({ x: sourceOf(tensor, form) })),
          'INVALID_ARGUMENT',
          new RegExp(`input x: shape \\[${text}\\] does not match the signature's \\[-1,4\\]`),
        );
      }
    }
    // A second input with the right rank but a different fixed size.
    const [{ reference }] = casesAsRequests('multi_io', 'object');
    const ids: TensorJson = { dtype: 'DT_INT64', shape: [1, 4], values: [1, 2, 3, 4] };
    await assertRejectsWith(
      predict(
        servables.get('multi_io')!,
        request({
          ...Object.fromEntries(Object.entries(reference.inputs).map(([k, v]) => [k, tensorSource(v)])),
          ids: tensorSource(ids),
        }),
      ),
      'INVALID_ARGUMENT',
      /input ids: shape \[1,4\] does not match the signature's \[-1,3\]/,
    );
  });

  it('checks a chained tensor (HostTensorHandle) like any other input', async () => {
    const mlp = servables.get('dynamic_mlp')!;
    const codec = loadTensorCodec();
    const [reference] = aotiCases('dynamic_mlp');
    const fitting = await codec.decode(tensorSource(reference.inputs.x));
    const outputs = await predict(mlp, request({ x: fitting.handle }));
    assertHostEquals(outputs.get('output_0')!, reference.outputs.output_0, TOLERANCE);
    // The model's own output, [1, 2], is no input for it.
    const chained = outputs.get('output_0') as HostTensorOutput;
    await assertRejectsWith(
      predict(mlp, request({ x: chained.handle })),
      'INVALID_ARGUMENT',
      /input x: shape \[1,2\] does not match/,
    );
    const ids = await codec.decode(tensorSource({ dtype: 'DT_INT64', shape: [1, 4], values: [1, 2, 3, 4] }));
    await assertRejectsWith(
      predict(mlp, request({ x: ids.handle })),
      'INVALID_ARGUMENT',
      /^Expects arg\[0\] to be float but int64 is provided$/,
    );
  });

  it('refuses a dtype the package was not compiled for', async () => {
    const doubles: TensorJson = { dtype: 'DT_DOUBLE', shape: [1, 4], values: [1, 2, 3, 4] };
    await assertRejectsWith(
      predict(servables.get('dynamic_mlp')!, request({ x: tensorProtoBytes(doubles) })),
      'INVALID_ARGUMENT',
      /Expects arg\[0\] to be float but double is provided/,
    );
  });

  it('accepts an empty batch', async () => {
    const empty: TensorJson = { dtype: 'DT_FLOAT', shape: [0, 4], values: [] };
    const outputs = await predict(servables.get('dynamic_mlp')!, request({ x: tensorSource(empty) }));
    assertHostEquals(outputs.get('output_0')!, { dtype: 'DT_FLOAT', shape: [0, 2], values: [] });
  });

  it('runs many requests at once, each getting its own answer', async () => {
    const cases = casesAsRequests('dynamic_mlp', 'TensorProto');
    const mlp = servables.get('dynamic_mlp')!;
    const runs = Array.from({ length: 96 }, (_, i) => cases[i % cases.length]);
    const answers = await Promise.all(runs.map(({ inputs }) => predict(mlp, request(inputs))));
    answers.forEach((outputs, i) =>
      assertHostEquals(outputs.get('output_0')!, runs[i].reference.outputs.output_0, TOLERANCE),
    );
  });

  for (const runners of ['1', '4']) {
    it(`runs concurrently with aoti_runners=${runners} (the addon, by position)`, async () => {
      const loaded = await loadPyTorchModel(aotiModel('multi_io'), { aoti_runners: runners });
      try {
        const cases = aotiCases('multi_io');
        const runs = Array.from({ length: 48 }, (_, i) => cases[i % cases.length]);
        const answers = await Promise.all(
          runs.map((reference) =>
            loaded.addon.run(
              loaded.handle,
              ['x', 'ids', 'mask'].map((alias, k) => [`input_${k}`, tensorSource(reference.inputs[alias])]),
              ['output_1', 'output_0'],
              'host',
            ),
          ),
        );
        answers.forEach((outputs, i) => {
          assert.deepEqual(
            outputs.map(([name]) => name),
            ['output_1', 'output_0'],
          );
          assertHostEquals(outputs[0][1], runs[i].outputs.total);
          assertHostEquals(outputs[1][1], runs[i].outputs.score, TOLERANCE);
        });
      } finally {
        loaded.addon.unload(loaded.handle);
      }
    });
  }

  it('copies each input once (from the request bytes) and no output', async () => {
    const loaded = await loadPyTorchModel(aotiModel('kwargs_tuple'));
    try {
      const [reference] = aotiCases('kwargs_tuple');
      const inputs: Array<[string, TensorSource]> = [
        ['input_0', tensorProtoBytes(reference.inputs.features)],
        ['input_1', tensorProtoBytes(reference.inputs.offset)],
      ];
      const copiesFor = async (output: string) => {
        const before = loadTensorCodec().copyStats().copies;
        await loaded.addon.run(loaded.handle, inputs, [output], 'host');
        return loadTensorCodec().copyStats().copies - before;
      };
      assert.equal(await copiesFor('output_0'), 2, 'the two decoded inputs, nothing more');
      // features.t(): the compiled code writes the transposed tensor densely, so it needs no copy either.
      assert.equal(await copiesFor('output_1'), 2);
    } finally {
      loaded.addon.unload(loaded.handle);
    }
  });

  it('tells the addon caller which inputs a package takes', async () => {
    const loaded = await loadPyTorchModel(aotiModel('dynamic_mlp'));
    try {
      const [reference] = aotiCases('dynamic_mlp');
      await assertRejectsWith(
        loaded.addon.run(loaded.handle, [['x', tensorSource(reference.inputs.x)]], [], 'host'),
        'INVALID_ARGUMENT',
        /unknown input 'x'; an AOTInductor model takes its inputs by position: input_0, input_1, \.\.\./,
      );
      await assertRejectsWith(
        loaded.addon.run(loaded.handle, [['input_0', tensorSource(reference.inputs.x)]], ['output_3'], 'host'),
        'INVALID_ARGUMENT',
        /the model has no output 'output_3'; it returned: output_0/,
      );
    } finally {
      loaded.addon.unload(loaded.handle);
    }
  });
});
