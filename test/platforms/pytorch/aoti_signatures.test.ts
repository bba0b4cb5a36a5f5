/**
 * How an AOTInductor package's call spec, recorded signature and signature.json become its
 * SignatureMap (src/platforms/pytorch/aoti_signatures.ts), on descriptions written here in the
 * form torch 2.15 writes them.
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ServingError } from '../../../src/errors/serving_error';
import { AotiDescription, buildAotiSignatures } from '../../../src/platforms/pytorch/aoti_signatures';
import { parseTreeSpec } from '../../../src/platforms/pytorch/pytree_spec';
import { DataType } from '../../../src/tensors/data_type';

const { DT_INVALID, DT_FLOAT, DT_INT64 } = DataType;

// torch.utils._pytree.treespec_dumps nodes.
const leaf = { type: null, context: null, children_spec: [] };
const tuple = (...children: object[]) => ({ type: 'builtins.tuple', context: 'null', children_spec: children });
const dict = (entries: Record<string, object>) => ({
  type: 'builtins.dict',
  context: JSON.stringify(Object.keys(entries)),
  children_spec: Object.values(entries),
});
const spec = (root: object) => JSON.stringify([1, root]);
const call = (args: object[], kwargs: Record<string, object> = {}) => spec(tuple(tuple(...args), dict(kwargs)));

function description(inSpec: string, outSpec: string, recorded?: object): AotiDescription {
  return {
    format: 'aoti',
    file: 'model.pt2',
    runners: 2,
    metadata: { AOTI_DEVICE_KEY: 'cpu', ...(recorded ? { duoserve_signature: JSON.stringify(recorded) } : {}) },
    in_spec: inSpec,
    out_spec: outSpec,
  };
}

const typed = (name: string, shape: number[], dtype = 'DT_FLOAT') => ({ name, dtype, shape });

function signatureOf(desc: AotiDescription, file?: unknown) {
  return buildAotiSignatures(desc, file).get('serving_default')!;
}

function assertInvalid(desc: AotiDescription, file: unknown, message: RegExp): void {
  assert.throws(
    () => buildAotiSignatures(desc, file),
    (error: unknown) =>
      error instanceof ServingError && error.code === 'INVALID_ARGUMENT' && message.test(error.message),
  );
}

describe('AOTInductor signatures', () => {
  it('names positional inputs by position, keyword inputs by keyword, dict outputs by key', () => {
    const desc = description(
      call([leaf, leaf], { scale: leaf, extra: dict({ mask: leaf, ids: leaf }) }),
      spec(dict({ probabilities: leaf, stats: dict({ mean: leaf }), rest: tuple(leaf, leaf) })),
    );
    const file = {
      inputs: Object.fromEntries(
        ['input_0', 'input_1', 'scale', 'extra.mask', 'extra.ids'].map((name, i) => [name, typed(`input_${i}`, [-1])]),
      ),
    };
    const signature = signatureOf(desc, file);
    assert.deepEqual([...signature.inputs.keys()], ['input_0', 'input_1', 'scale', 'extra.mask', 'extra.ids']);
    assert.deepEqual(
      [...signature.outputs],
      [
        ['probabilities', { name: 'output_0', dtype: DT_INVALID, shape: null }],
        ['stats.mean', { name: 'output_1', dtype: DT_INVALID, shape: null }],
        ['rest.0', { name: 'output_2', dtype: DT_INVALID, shape: null }],
        ['rest.1', { name: 'output_3', dtype: DT_INVALID, shape: null }],
      ],
    );
  });

  it('names a single tensor or tuple output output_N', () => {
    const inputs = { inputs: { input_0: typed('input_0', [2]) } };
    assert.deepEqual([...signatureOf(description(call([leaf]), spec(leaf)), inputs).outputs.keys()], ['output_0']);
    assert.deepEqual(
      [...signatureOf(description(call([leaf]), spec(tuple(leaf, tuple(leaf, leaf)))), inputs).outputs.keys()],
      ['output_0', 'output_1', 'output_2'],
    );
  });

  it('uses the recorded signature, and signature.json over it (filling in what it leaves out)', () => {
    const recorded = {
      inputs: { x: typed('input_0', [-1, 4]), ids: typed('input_1', [-1], 'DT_INT64') },
      outputs: { scores: typed('output_0', [-1, 2]) },
    };
    const desc = description(call([leaf, leaf]), spec(leaf), recorded);
    const own = signatureOf(desc);
    assert.deepEqual(
      [...own.inputs],
      [
        ['x', { name: 'input_0', dtype: DT_FLOAT, shape: [-1, 4] }],
        ['ids', { name: 'input_1', dtype: DT_INT64, shape: [-1] }],
      ],
    );
    assert.deepEqual([...own.outputs], [['scores', { name: 'output_0', dtype: DT_FLOAT, shape: [-1, 2] }]]);

    const renamed = signatureOf(desc, {
      inputs: { features: { name: 'x' }, token_ids: { name: 'input_1', shape: [-1, 1] } },
    });
    assert.deepEqual(
      [...renamed.inputs],
      [
        ['features', { name: 'input_0', dtype: DT_FLOAT, shape: [-1, 4] }],
        ['token_ids', { name: 'input_1', dtype: DT_INT64, shape: [-1, 1] }],
      ],
    );
    assert.deepEqual([...renamed.outputs.keys()], ['scores'], 'outputs left out of signature.json stay as recorded');
  });

  it('refuses to serve inputs without a dtype and a shape', () => {
    const desc = description(call([leaf]), spec(leaf));
    assertInvalid(
      desc,
      undefined,
      /input "input_0" \(input_0\) has no dtype; AOTInductor code does not check its inputs/,
    );
    assertInvalid(
      desc,
      { inputs: { x: { name: 'input_0', dtype: 'DT_FLOAT' } } },
      /input "x" \(input_0\) has no shape/,
    );
  });

  it('rejects names the package does not have, inputs left out and inputs named twice', () => {
    const desc = description(call([leaf], { scale: leaf }), spec(leaf));
    const ok = { dtype: 'DT_FLOAT', shape: [1] };
    assertInvalid(
      desc,
      { inputs: { a: { name: 'input_5', ...ok } } },
      /signature\.json "inputs": "a" names "input_5", which is not an input of the package \(its inputs: input_0, scale \(input_1\)\)/,
    );
    assertInvalid(
      desc,
      { inputs: { a: { name: 'input_0', ...ok } } },
      /input "scale" \(input_1\) is required but not listed/,
    );
    assertInvalid(
      desc,
      { inputs: { a: { name: 'input_0', ...ok }, b: { name: 'input_0', ...ok }, scale: ok } },
      /"a" and "b" both name input input_0/,
    );
    assertInvalid(
      desc,
      { inputs: { input_0: ok, scale: ok }, outputs: { y: { name: 'output_1' } } },
      /"y" names "output_1", which is not an output of the package/,
    );
    assertInvalid(
      description(call([leaf]), spec(leaf), { inputs: { x: { dims: [1] } } }),
      undefined,
      /model\.pt2 metadata "duoserve_signature" "inputs" "x": unknown key "dims"/,
    );
  });

  it('rejects a call spec it cannot read', () => {
    assert.throws(() => parseTreeSpec('[2, {}]', 'in_spec'), /not a pytree spec of protocol 1/);
    assert.throws(
      () => parseTreeSpec('{', 'in_spec'),
      /^ServingError: in_spec:1:2: not valid JSON: Missing a name for object member\.$/,
    );
    assert.throws(
      () => parseTreeSpec(spec({ type: 'builtins.dict', context: '["a"]', children_spec: [] }), 'out_spec'),
      /does not list its 0 keys/,
    );
  });

  it('reads an OrderedDict and a defaultdict call spec by key', () => {
    const ordered = { type: 'collections.OrderedDict', context: '["b", "a"]', children_spec: [leaf, leaf] };
    const defaultdict = {
      type: 'collections.defaultdict',
      context: JSON.stringify({
        default_factory_module: 'builtins',
        default_factory_name: 'list',
        dict_context: ['k'],
      }),
      children_spec: [leaf],
    };
    assert.deepEqual(parseTreeSpec(spec(tuple(ordered, defaultdict)), 'x').leafPaths(), [
      [{ index: 0 }, { key: 'b' }],
      [{ index: 0 }, { key: 'a' }],
      [{ index: 1 }, { key: 'k' }],
    ]);
  });
});
