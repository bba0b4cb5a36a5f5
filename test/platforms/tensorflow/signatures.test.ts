import * as assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Writer } from 'protobufjs/minimal';
import { parseSignatureDefs } from '../../../src/platforms/tensorflow/signatures';
import { type LoadedTensorFlowModel, loadTensorFlowModel } from '../../../src/platforms/tensorflow/tensorflow_platform';
import type { SignatureMap } from '../../../src/servables/signature';
import { MODELS, type Reference, readReference, versionDir } from './fixtures';

// Hand-built wire bytes, field numbers as in meta_graph.proto / tensor_shape.proto.
const LEN = 2;
const VARINT = 0;
const key = (field: number, wire: number) => (field << 3) | wire;

function tensorInfo(options: {
  name?: string;
  sparse?: boolean;
  dtype: number;
  dims?: number[];
  unknownRank?: boolean;
}) {
  const w = Writer.create();
  if (options.name !== undefined) w.uint32(key(1, LEN)).string(options.name);
  w.uint32(key(2, VARINT)).int32(options.dtype);
  if (options.dims || options.unknownRank) {
    w.uint32(key(3, LEN)).fork();
    for (const size of options.dims ?? []) w.uint32(key(2, LEN)).fork().uint32(key(1, VARINT)).int64(size).ldelim();
    if (options.unknownRank) w.uint32(key(3, VARINT)).bool(true);
    w.ldelim();
  }
  if (options.sparse) {
    w.uint32(key(4, LEN)).fork().uint32(key(1, LEN)).string('values:0').ldelim();
  }
  return w.finish();
}

function mapEntry(field: number, name: string, value: Uint8Array, w: Writer) {
  w.uint32(key(field, LEN)).fork().uint32(key(1, LEN)).string(name).uint32(key(2, LEN)).bytes(value).ldelim();
}

function signatureDef(inputs: Record<string, Uint8Array>, outputs: Record<string, Uint8Array>, method = 'm') {
  const w = Writer.create();
  for (const [alias, info] of Object.entries(inputs)) mapEntry(1, alias, info, w);
  for (const [alias, info] of Object.entries(outputs)) mapEntry(2, alias, info, w);
  w.uint32(key(3, LEN)).string(method);
  return w.finish();
}

function metaGraphDef(signatures: Record<string, Uint8Array>) {
  const w = Writer.create();
  w.uint32(key(1, LEN)).fork().uint32(key(4, LEN)).string('2.21.0').ldelim(); // meta_info_def
  w.uint32(key(2, LEN)).bytes(new Uint8Array(1000).fill(7)); // graph_def, skipped unread
  for (const [name, def] of Object.entries(signatures)) mapEntry(5, name, def, w);
  return w.finish();
}

/** A SignatureMap as a plain object, for deepEqual against reference.json. */
function plain(signatures: SignatureMap): Reference['signatures'] {
  const specs = (m: Map<string, { name: string; dtype: number; shape: number[] | null }>) =>
    Object.fromEntries(
      [...m].map(([alias, spec]) => [alias, { name: spec.name, dtype: spec.dtype, shape: spec.shape }]),
    );
  return Object.fromEntries(
    [...signatures].map(([name, s]) => [
      name,
      { method_name: s.methodName, inputs: specs(s.inputs), outputs: specs(s.outputs) },
    ]),
  );
}

describe('parseSignatureDefs over wire bytes', () => {
  test('reads names, dtypes, shapes (-1 unknown dims, null unknown rank) and method names', () => {
    const bytes = metaGraphDef({
      serving_default: signatureDef(
        { x: tensorInfo({ name: 'serving_default_x:0', dtype: 1, dims: [-1, 3] }) },
        { y: tensorInfo({ name: 'out:0', dtype: 9, unknownRank: true }) },
        'tensorflow/serving/predict',
      ),
    });
    assert.deepEqual(plain(parseSignatureDefs(bytes)), {
      serving_default: {
        method_name: 'tensorflow/serving/predict',
        inputs: { x: { name: 'serving_default_x:0', dtype: 1, shape: [-1, 3] } },
        outputs: { y: { name: 'out:0', dtype: 9, shape: null } },
      },
    });
  });

  test('an absent tensor_shape is a scalar', () => {
    const bytes = metaGraphDef({ s: signatureDef({ x: tensorInfo({ name: 'x:0', dtype: 1 }) }, {}) });
    assert.deepEqual(parseSignatureDefs(bytes).get('s')!.inputs.get('x')!.shape, []);
  });

  test('keeps __saved_model_init_op (as TF-Serving lists it) and drops signatures with sparse tensors', () => {
    const dense = signatureDef({ x: tensorInfo({ name: 'x:0', dtype: 1, dims: [2] }) }, {});
    const sparse = signatureDef({ x: tensorInfo({ sparse: true, dtype: 1 }) }, {});
    const sparseAfterName = signatureDef({ x: tensorInfo({ name: 'x:0', sparse: true, dtype: 1 }) }, {});
    const bytes = metaGraphDef({ __saved_model_init_op: dense, keep: dense, sparse, sparse2: sparseAfterName });
    assert.deepEqual([...parseSignatureDefs(bytes).keys()], ['__saved_model_init_op', 'keep']);
  });

  test('an empty MetaGraphDef has no signatures', () => {
    assert.equal(parseSignatureDefs(new Uint8Array(0)).size, 0);
  });

  test('truncated bytes throw instead of returning a partial map', () => {
    const bytes = metaGraphDef({ s: signatureDef({ x: tensorInfo({ name: 'x:0', dtype: 1 }) }, {}) });
    assert.throws(() => parseSignatureDefs(bytes.subarray(0, bytes.length - 3)));
  });
});

describe('signatures of SavedModels exported by TensorFlow', () => {
  const loaded: LoadedTensorFlowModel[] = [];
  after(() => loaded.forEach((model) => model.addon.unload(model.handle)));

  for (const model of MODELS) {
    test(`${model}: as TensorFlow reads them from saved_model.pb`, async () => {
      const tf = await loadTensorFlowModel(versionDir(model), { tags: ['serve'] });
      loaded.push(tf);
      assert.deepEqual(plain(tf.signatures), readReference(model).signatures);
    });
  }
});
