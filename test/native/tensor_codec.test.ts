import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBackendAddon, loadTensorCodec, type BackendAddon } from '../../src/native/backend_addon';

/**
 * The tensor codec's decode() and encode(): a TensorSource made a HostTensor once, and a
 * HostTensor made TensorProto bytes, each on a worker thread (duoserve_codec.node, whose
 * handles feed the echo backend's runs).
 */
const addon: BackendAddon = loadBackendAddon('echo_test');
const codec = loadTensorCodec();

const FLOAT_2X2_CONTENT = Buffer.from('08011208120208021202080222100000803f000000400000404000008040', 'hex');
const FLOAT_2X2_FIELDS = Buffer.from('0801120812020802120208022a100000803f000000400000404000008040', 'hex');

async function copiesDuring<T>(action: () => Promise<T>): Promise<{ result: T; copies: number }> {
  const before = codec.copyStats().copies;
  const result = await action();
  return { result, copies: codec.copyStats().copies - before };
}

describe('tensor kit: decode and encode', () => {
  it('decodes each TensorSource form into a host tensor, copying only what it must', async () => {
    const content = await copiesDuring(() => codec.decode(FLOAT_2X2_CONTENT));
    assert.equal(content.copies, 1);
    assert.equal(content.result.dtype, 1);
    assert.deepEqual(content.result.shape, [2, 2]);
    assert.deepEqual([...new Float32Array(content.result.data!)], [1, 2, 3, 4]);
    assert.equal((await copiesDuring(() => codec.decode(FLOAT_2X2_FIELDS))).copies, 0);
    const dense = await copiesDuring(() => codec.decode({ dtype: 1, shape: [2], data: new Float32Array([5, 6]) }));
    assert.equal(dense.copies, 1);
    const again = await copiesDuring(() => codec.decode(dense.result.handle));
    assert.equal(again.copies, 0);
    assert.deepEqual([...new Float32Array(again.result.data!)], [5, 6]);
    const strings = await codec.decode({ dtype: 7, shape: [2], strings: [Buffer.from('a'), Buffer.from('bc')] });
    assert.deepEqual(strings.strings, [Buffer.from('a'), Buffer.from('bc')]);
  });

  it('decodes raw BYTES contents (4-byte little-endian lengths) into strings, and refuses malformed ones', async () => {
    const elements = [Buffer.from('duo'), Buffer.alloc(0), Buffer.from('s\u00e9rve')];
    const raw = Buffer.concat(elements.flatMap((e) => [Buffer.from(new Uint32Array([e.length]).buffer), e]));
    const decoded = await copiesDuring(() => codec.decode({ dtype: 7, shape: [3], data: raw }));
    assert.equal(decoded.copies, 0); // strings are converted element by element, not copied as a payload
    assert.equal(decoded.result.dtype, 7);
    assert.deepEqual(decoded.result.shape, [3]);
    assert.deepEqual(decoded.result.strings, elements);
    const refused = (data: Uint8Array, shape: number[], message: string) =>
      assert.rejects(codec.decode({ dtype: 7, shape, data }), { code: 'INVALID_ARGUMENT', message });
    await refused(
      raw.subarray(0, raw.length - 1),
      [3],
      'raw BYTES contents: element 2 of 3 says 6 bytes but only 5 remain',
    );
    await refused(raw, [2], 'raw BYTES contents: 10 bytes remain after the 2 elements of shape [2]');
    await refused(raw, [4], 'raw BYTES contents: element 3 of 4 has no 4-byte length (0 bytes remain)');
    const decode = codec.decode as (value: unknown) => unknown;
    assert.throws(() => decode({ dtype: 7, shape: [1], data: new Uint16Array(4) }), TypeError);
  });

  it('feeds one decoded tensor to several runs without another copy', async () => {
    const model = await addon.load('/models/echo/1', {});
    try {
      const { handle } = await codec.decode(FLOAT_2X2_CONTENT);
      const runs = await copiesDuring(() =>
        Promise.all([
          addon.run(model, [['x', handle]], ['x'], 'fields'),
          addon.run(model, [['y', handle]], ['y'], 'fields'),
        ]),
      );
      assert.equal(runs.copies, 0);
      assert.deepEqual(runs.result, [[['x', FLOAT_2X2_FIELDS]], [['y', FLOAT_2X2_FIELDS]]]);
    } finally {
      addon.unload(model);
    }
  });

  it('encodes a host tensor as typed fields or tensor_content', async () => {
    const { handle } = await codec.decode(FLOAT_2X2_FIELDS);
    const fields = await copiesDuring(() => codec.encode(handle, 'fields'));
    assert.deepEqual(fields, { result: FLOAT_2X2_FIELDS, copies: 0 });
    const content = await copiesDuring(() => codec.encode(handle, 'content'));
    assert.deepEqual(content, { result: FLOAT_2X2_CONTENT, copies: 1 });
  });

  it('rejects bad data with a status code, and wrong arguments with a TypeError', async () => {
    await assert.rejects(codec.decode(Buffer.from('0814', 'hex')), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.match(error.message, /dtype 20 is not supported/);
      return true;
    });
    await assert.rejects(
      codec.decode({ dtype: 1, shape: [3], data: new Float32Array(2) }),
      /data has 8 bytes but shape \[3\]/,
    );
    // Past TensorFlow's 254 dims its TensorShape aborts the process: refused before it is built.
    await assert.rejects(codec.decode({ dtype: 1, shape: new Array(255).fill(1), data: new Float32Array(1) }), {
      code: 'INVALID_ARGUMENT',
      message: 'shape has 255 dims; at most 254 are allowed',
    });
    const { handle } = await codec.decode(FLOAT_2X2_FIELDS);
    const encode = codec.encode as (...args: unknown[]) => unknown;
    assert.throws(() => encode(FLOAT_2X2_FIELDS, 'fields'), TypeError);
    assert.throws(() => encode(handle, 'host'), TypeError);
    assert.throws(() => encode({}, 'content'), TypeError);
    assert.throws(() => (codec.decode as (value: unknown) => unknown)(5), TypeError);
  });
});
