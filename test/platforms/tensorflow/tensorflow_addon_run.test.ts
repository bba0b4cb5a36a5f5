/**
 * Runs through the TensorFlow addon directly: every input kind, every output encoding,
 * tensors chained natively between runs, bad inputs, and concurrent runs, all checked
 * against what TensorFlow computed in Python for the same SavedModels.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type {
  BackendAddon,
  HostTensorOutput,
  ModelHandle,
  OutputEncoding,
  TensorSource,
} from '../../../src/native/backend_addon';
import { loadTensorFlowModel } from '../../../src/platforms/tensorflow/tensorflow_platform';
import type { SignatureMap } from '../../../src/servables/signature';
import { DataType } from '../../../src/tensors/data_type';
import {
  type FixtureModel,
  MODELS,
  type ReferenceCase,
  type ReferenceTensor,
  readReference,
  versionDir,
} from './fixtures';
import { assertTensorMatches, fieldsSource, hostValues, plainOutput, tensorProtoBytes } from './tensors';

interface Loaded {
  addon: BackendAddon;
  handle: ModelHandle;
  signatures: SignatureMap;
}

const models = new Map<FixtureModel, Loaded>();

before(async () => {
  for (const model of MODELS) models.set(model, await loadTensorFlowModel(versionDir(model), { tags: ['serve'] }));
});
after(() => models.forEach(({ addon, handle }) => addon.unload(handle)));

const SOURCES: Record<string, (t: ReferenceTensor) => TensorSource> = {
  'TensorProto typed fields': (t) => tensorProtoBytes(t),
  'TensorProto tensor_content': (t) => tensorProtoBytes(t, t.dtype !== DataType.DT_STRING),
  'typed arrays': fieldsSource,
};
const ENCODINGS: OutputEncoding[] = ['fields', 'content', 'host'];

/** Runs a reference case with tensor names from the loaded signature. */
async function runCase(
  model: FixtureModel,
  refCase: ReferenceCase,
  source: (t: ReferenceTensor) => TensorSource,
  encoding: OutputEncoding,
) {
  const { addon, handle, signatures } = models.get(model)!;
  const signature = signatures.get(refCase.signature)!;
  const aliases = Object.keys(refCase.outputs);
  const results = await addon.run(
    handle,
    Object.entries(refCase.inputs).map(([alias, t]) => [signature.inputs.get(alias)!.name, source(t)]),
    aliases.map((alias) => signature.outputs.get(alias)!.name),
    encoding,
  );
  assert.equal(results.length, aliases.length);
  return new Map(results.map(([, output], i) => [aliases[i], output]));
}

function assertCase(outputs: Map<string, unknown>, refCase: ReferenceCase, what: string) {
  for (const [alias, expected] of Object.entries(refCase.outputs)) {
    assertTensorMatches(plainOutput(outputs.get(alias) as never), expected, `${what} ${alias}`);
  }
}

describe('reference results', () => {
  for (const model of MODELS) {
    for (const [sourceName, source] of Object.entries(SOURCES)) {
      for (const encoding of ENCODINGS) {
        test(`${model}: ${sourceName} in, '${encoding}' out`, async () => {
          for (const refCase of readReference(model).cases) {
            assertCase(await runCase(model, refCase, source, encoding), refCase, refCase.signature);
          }
        });
      }
    }
  }
});

describe('host tensors chained into later runs', () => {
  test('numeric and string outputs feed the next run without leaving native memory', async () => {
    const { addon, handle, signatures } = models.get('many_dtypes')!;
    const sig = signatures.get('serving_default')!;
    const refCase = readReference('many_dtypes').cases[0];
    const names = (alias: string) => sig.outputs.get(alias)!.name;
    const first = await addon.run(
      handle,
      Object.entries(refCase.inputs).map(([alias, t]) => [sig.inputs.get(alias)!.name, fieldsSource(t)]),
      ['ids_tripled', 'flags_negated', 'halves_doubled', 'words_shouted'].map(names),
      'host',
    );
    const [ids, flags, halves, words] = first.map(([, output]) => (output as HostTensorOutput).handle);
    const second = await addon.run(
      handle,
      [
        [sig.inputs.get('ids')!.name, ids],
        [sig.inputs.get('flags')!.name, flags],
        [sig.inputs.get('halves')!.name, halves],
        [sig.inputs.get('words')!.name, words],
      ],
      ['ids_tripled', 'flags_negated', 'halves_doubled', 'words_shouted'].map(names),
      'host',
    );
    const values = second.map(([, output]) => hostValues(output as HostTensorOutput).values);
    assert.deepEqual(values[0], [9, -18, 27_000_000_000]);
    assert.deepEqual(values[1], [true, false, true]);
    assert.deepEqual(values[2], [2, -5, 4000]);
    assert.deepEqual(
      values[3].map((b) => Buffer.from(b as string, 'base64').toString()),
      ['DUO!!', '!!', 'S\u00e9RVE!!'],
    );
  });

  test("one model's output is another model's input", async () => {
    const two = models.get('two_signatures')!;
    const sig = two.signatures.get('echo')!;
    const keras = models.get('keras_dense')!;
    const ksig = keras.signatures.get('serving_default')!;
    const features = { dtype: DataType.DT_FLOAT, shape: [1, 5], data: Float32Array.from([1, 2, 3, 4, 5]) };
    const [[, echoedFeatures]] = await two.addon.run(
      two.handle,
      [[sig.inputs.get('anything')!.name, features]],
      [sig.outputs.get('same')!.name],
      'host',
    );
    const direct = await keras.addon.run(
      keras.handle,
      [[ksig.inputs.get('features')!.name, features]],
      [ksig.outputs.get('output_0')!.name],
      'host',
    );
    const chained = await keras.addon.run(
      keras.handle,
      [[ksig.inputs.get('features')!.name, (echoedFeatures as HostTensorOutput).handle]],
      [ksig.outputs.get('output_0')!.name],
      'host',
    );
    assert.deepEqual(hostValues(chained[0][1] as HostTensorOutput), hostValues(direct[0][1] as HostTensorOutput));
  });
});

describe('bad inputs', () => {
  const x = (dtype: number, data: ArrayBufferView, shape = [1, 3]): TensorSource => ({ dtype, shape, data });
  const run = (inputs: Array<[string, TensorSource]>, outputs = ['StatefulPartitionedCall:1']) => {
    const { addon, handle } = models.get('two_signatures')!;
    return addon.run(handle, inputs, outputs, 'fields');
  };

  test('a wrong dtype is INVALID_ARGUMENT with TensorFlow’s message', async () => {
    await assert.rejects(
      run([['serving_default_x:0', x(DataType.DT_INT64, BigInt64Array.from([1n, 2n, 3n]))]]),
      (error: any) => {
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.match(error.message, /Expects arg\[0\] to be float but int64 is provided/);
        return true;
      },
    );
    await assert.rejects(run([['serving_default_x:0', { dtype: 7, shape: [1], strings: [Buffer.from('a')] }]]), {
      code: 'INVALID_ARGUMENT',
    });
  });

  test('unknown tensor names are INVALID_ARGUMENT', async () => {
    const good = x(DataType.DT_FLOAT, Float32Array.from([1, 2, 3]));
    await assert.rejects(run([['no_such_op:0', good]]), { code: 'INVALID_ARGUMENT', message: /no_such_op:0/ });
    await assert.rejects(run([['serving_default_x:7', good]]), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(run([['serving_default_x:0', good]], ['no_such_output:0']), { code: 'INVALID_ARGUMENT' });
  });

  test('a shape the graph rejects is INVALID_ARGUMENT', async () => {
    await assert.rejects(
      run([['serving_default_x:0', x(DataType.DT_FLOAT, Float32Array.from([1, 2, 3, 4]), [1, 4])]]),
      {
        code: 'INVALID_ARGUMENT',
      },
    );
  });

  test('data that does not fill the shape is INVALID_ARGUMENT', async () => {
    await assert.rejects(run([['serving_default_x:0', x(DataType.DT_FLOAT, Float32Array.from([1, 2]))]]), {
      code: 'INVALID_ARGUMENT',
    });
  });

  test('the model still serves after all of the above', async () => {
    const outputs = await run([['serving_default_x:0', x(DataType.DT_FLOAT, Float32Array.from([1, 1, 1]))]]);
    assert.deepEqual(plainOutput(outputs[0][1]).values, [2, 3, 4]);
  });
});

describe('concurrency', () => {
  test('64 runs in flight at once, each with its own answer', async () => {
    const { addon, handle } = models.get('two_signatures')!;
    const runs = Array.from({ length: 64 }, async (_, i) => {
      const rows = 1 + (i % 5);
      const data = Float32Array.from({ length: rows * 3 }, (_, j) => i + j);
      const [[, y], [, total]] = await addon.run(
        handle,
        [['serving_default_x:0', { dtype: DataType.DT_FLOAT, shape: [rows, 3], data }]],
        ['StatefulPartitionedCall:1', 'StatefulPartitionedCall:0'],
        i % 2 ? 'host' : 'fields',
      );
      const scale = [1, 2, 3];
      assert.deepEqual(
        plainOutput(y).values,
        [...data].map((v, j) => v * scale[j % 3] + 1),
      );
      assert.deepEqual(
        plainOutput(total).values,
        Array.from({ length: rows }, (_, r) => data[3 * r] + data[3 * r + 1] + data[3 * r + 2]),
      );
    });
    await Promise.all(runs);
  });
});
