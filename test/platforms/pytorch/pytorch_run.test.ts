// Runs execute on libuv's pool (4 threads by default); 16 threads let the concurrency test
// really run 16 forward() calls at once. Read when the pool first starts, after this line.
process.env.UV_THREADPOOL_SIZE = '16';

import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  BackendAddon,
  loadBackendAddon,
  loadTensorCodec,
  ModelHandle,
  TensorSource,
} from '../../../src/native/backend_addon';
import { DataType } from '../../../src/tensors/data_type';
import {
  asHost,
  assertHostEquals,
  assertRejectsWith,
  assertValuesClose,
  decodeTensorContent,
  outputMap,
  tensorProtoBytes,
  tensorSource,
  torchModel,
  torchReference,
  valuesOf,
} from './torch_fixtures';

const MODELS = ['scripted_two_inputs', 'traced_mlp', 'tuple_out', 'dict_out', 'int_bool', 'costly_scalar'];

describe('PyTorch backend: run', () => {
  let addon: BackendAddon;
  const models = new Map<string, ModelHandle>();
  before(async () => {
    addon = loadBackendAddon('pytorch');
    for (const name of MODELS) models.set(name, await addon.load(torchModel(name), {}));
  });
  after(() => {
    for (const handle of models.values()) addon.unload(handle);
  });

  function referenceInputs(name: string, source: 'proto' | 'typed'): Array<[string, TensorSource]> {
    return Object.entries(torchReference(name).inputs).map(([input, tensor]) => [
      input,
      source === 'proto' ? tensorProtoBytes(tensor) : tensorSource(tensor),
    ]);
  }

  it('matches PyTorch on every fixture, from TensorProto bytes and from typed arrays', async () => {
    for (const name of MODELS) {
      const reference = torchReference(name);
      for (const source of ['proto', 'typed'] as const) {
        const outputs = outputMap(await addon.run(models.get(name)!, referenceInputs(name, source), [], 'host'));
        assert.deepEqual([...outputs.keys()], Object.keys(reference.outputs), `${name} output names`);
        for (const [output, expected] of Object.entries(reference.outputs)) {
          assertHostEquals(outputs.get(output)!, expected);
        }
      }
    }
  });

  it("encodes 'content' outputs as TensorProto bytes", async () => {
    const reference = torchReference('scripted_two_inputs');
    const [[name, bytes]] = await addon.run(
      models.get('scripted_two_inputs')!,
      referenceInputs('scripted_two_inputs', 'proto'),
      [],
      'content',
    );
    assert.equal(name, 'output_0');
    const decoded = decodeTensorContent(bytes as Uint8Array);
    assert.equal(decoded.dtype, DataType.DT_FLOAT);
    assert.deepEqual(decoded.shape, reference.outputs.output_0.shape);
    assertValuesClose(valuesOf(decoded.dtype, decoded.content), reference.outputs.output_0.values);
  });

  it('returns only the outputs asked for, in the order asked', async () => {
    const reference = torchReference('dict_out');
    const outputs = await addon.run(
      models.get('dict_out')!,
      referenceInputs('dict_out', 'typed'),
      ['classes', 'probabilities'],
      'host',
    );
    assert.deepEqual(
      outputs.map(([name]) => name),
      ['classes', 'probabilities'],
    );
    assertHostEquals(outputs[0][1], reference.outputs.classes);
  });

  it('copies a non-contiguous output once, and a contiguous one never', async () => {
    const model = models.get('tuple_out')!;
    const inputs = referenceInputs('tuple_out', 'typed');
    const copiesFor = async (output: string) => {
      const before = loadTensorCodec().copyStats().copies;
      await addon.run(model, inputs, [output], 'host');
      return loadTensorCodec().copyStats().copies - before;
    };
    const contiguous = await copiesFor('output_0');
    const transposed = await copiesFor('output_1');
    assert.equal(transposed, contiguous + 1);
  });

  it('feeds optional arguments when given', async () => {
    const reference = torchReference('int_bool');
    const inputs = referenceInputs('int_bool', 'typed');
    inputs.push(['offset', { dtype: DataType.DT_INT64, shape: [2], data: BigInt64Array.from([100n, -5n]) }]);
    const [[, output]] = await addon.run(models.get('int_bool')!, inputs, [], 'host');
    const expected = reference.outputs.output_0.values.map((v, i) => Number(v) + [100, -5][i]);
    assert.deepEqual(valuesOf(DataType.DT_INT64, asHost(output).data!), expected);
  });

  it("takes an earlier run's host output as an input", async () => {
    const model = models.get('dict_out')!;
    const [[, probabilities]] = await addon.run(model, referenceInputs('dict_out', 'typed'), ['probabilities'], 'host');
    const first = asHost(probabilities);
    const [[, again]] = await addon.run(model, [['logits', first.handle]], ['probabilities'], 'host');
    const values = valuesOf(DataType.DT_FLOAT, first.data!);
    const expected: number[] = [];
    for (let row = 0; row < first.shape[0]; row++) {
      const logits = values.slice(row * first.shape[1], (row + 1) * first.shape[1]);
      const total = logits.reduce((sum, v) => sum + Math.exp(v), 0);
      expected.push(...logits.map((v) => Math.exp(v) / total));
    }
    assertValuesClose(valuesOf(DataType.DT_FLOAT, asHost(again).data!), expected);
  });

  it('rejects bad inputs with INVALID_ARGUMENT and keeps serving', async () => {
    const model = models.get('scripted_two_inputs')!;
    const [x, y] = referenceInputs('scripted_two_inputs', 'typed');
    await assertRejectsWith(addon.run(model, [x], [], 'host'), 'INVALID_ARGUMENT', /missing input 'y'/);
    await assertRejectsWith(
      addon.run(model, [x, y, ['z', y[1]]], [], 'host'),
      'INVALID_ARGUMENT',
      /unknown input 'z'; forward\(\) takes: x, y/,
    );
    await assertRejectsWith(
      addon.run(model, [x, ['y', { dtype: DataType.DT_STRING, shape: [1], strings: [Buffer.from('hi')] }]], [], 'host'),
      'INVALID_ARGUMENT',
      /DT_STRING tensors are not supported by PyTorch models/,
    );
    const wrongShape: TensorSource = { dtype: DataType.DT_FLOAT, shape: [2, 5], data: new Float32Array(10) };
    await assertRejectsWith(
      addon.run(model, [['x', wrongShape], y], [], 'host'),
      'INVALID_ARGUMENT',
      /^forward\(\) failed: .*shapes cannot be multiplied \(2x5 and 4x3\)$/,
    );
    await assertRejectsWith(
      addon.run(model, [x, y], ['output_7'], 'host'),
      'INVALID_ARGUMENT',
      /no output 'output_7'; it returned: output_0/,
    );
    const reference = torchReference('scripted_two_inputs');
    const [[, output]] = await addon.run(model, [x, y], [], 'host');
    assertHostEquals(output, reference.outputs.output_0);
  });

  it('answers 16 concurrent runs correctly', async () => {
    const model = models.get('tuple_out')!;
    const runs = Array.from({ length: 16 }, async (_, i) => {
      const rows = 1 + (i % 4);
      const values = Array.from({ length: rows * 3 }, (_, k) => i * 100 + k);
      const [[, sums], [, transposed]] = await addon.run(
        model,
        [['x', { dtype: DataType.DT_FLOAT, shape: [rows, 3], data: Float32Array.from(values) }]],
        [],
        'host',
      );
      const expectedSums = Array.from(
        { length: rows },
        (_, r) => values[r * 3] + values[r * 3 + 1] + values[r * 3 + 2],
      );
      assertValuesClose(valuesOf(DataType.DT_FLOAT, asHost(sums).data!), expectedSums);
      assert.deepEqual(asHost(transposed).shape, [3, rows]);
      const expectedTransposed = [0, 1, 2].flatMap((c) => Array.from({ length: rows }, (_, r) => values[r * 3 + c]));
      assertValuesClose(valuesOf(DataType.DT_FLOAT, asHost(transposed).data!), expectedTransposed);
    });
    const mlp = torchReference('traced_mlp');
    const mlpRuns = Array.from({ length: 16 }, async () => {
      const [[, output]] = await addon.run(
        models.get('traced_mlp')!,
        referenceInputs('traced_mlp', 'proto'),
        [],
        'host',
      );
      assertHostEquals(output, mlp.outputs.output_0);
    });
    await Promise.all([...runs, ...mlpRuns]);
  });
});
