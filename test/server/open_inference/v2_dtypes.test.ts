/**
 * Every Open Inference Protocol datatype through OpenInference.infer with raw contents, over
 * both frameworks: the all_dtypes fixtures (test/fixtures/export_{tf,torch}_fixtures.py) are one
 * identity per datatype, so each output's bytes must be the input's, bit for bit (NaN payloads,
 * signed zeros, subnormals and integer extremes included).
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ServingError } from '../../../src/errors/serving_error';
import type { HostTensorOutput, RawTensorOutput } from '../../../src/native/backend_addon';
import type { InferInput, InferRequest } from '../../../src/server/open_inference/infer_request';
import { OpenInference } from '../../../src/server/open_inference/open_inference';
import { bfloat16ToNumber, halfToNumber } from '../../../src/tensors/float16';
import { type V2Datatype, v2ElementBytes } from '../../../src/tensors/v2_datatype';
import { type ChainServer, type ServedModel, startChainServer } from '../../platforms/chain/chain_server';
import { tensorFlowFixtures } from '../../platforms/tensorflow/fixtures';
import { torchModel } from '../../platforms/pytorch/torch_fixtures';
import { prng } from '../../seeded_random';

const NUMERIC: V2Datatype[] = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'BF16',
  'FP32',
  'FP64',
];
const ELEMENTS = 24;

/** BYTES raw contents: each element's 4-byte little-endian length, then its bytes. */
function bytesContents(elements: Uint8Array[]): Uint8Array {
  return Buffer.concat(elements.flatMap((e) => [Buffer.from(new Uint32Array([e.length]).buffer), e]));
}

/**
 * `count` elements of `datatype` as raw little-endian bytes: seeded random bit patterns (every
 * pattern is a valid element of an identity, NaNs included) after each width's edge values.
 * BOOL is 0 or 1 (the server makes any other byte 1); BYTES elements are random bytes of growing lengths.
 */
function rawElements(datatype: V2Datatype, count: number, random: ReturnType<typeof prng>): Uint8Array {
  if (datatype === 'BYTES') {
    return bytesContents(
      Array.from({ length: count }, (_, i) => Uint8Array.from({ length: i * 7 }, () => random.int(256))),
    );
  }
  const width = v2ElementBytes(datatype);
  const raw = new Uint8Array(count * width);
  if (datatype === 'BOOL') {
    for (let i = 0; i < count; i++) raw[i] = random.int(2);
    return raw;
  }
  for (let i = 0; i < raw.length; i++) raw[i] = random.int(256);
  // Edges: all zeros, all ones (-1, the unsigned max, a NaN), the sign bit alone (-0, the signed min).
  raw.fill(0, 0, width);
  raw.fill(0xff, width, 2 * width);
  raw.fill(0, 2 * width, 3 * width);
  raw[3 * width - 1] = 0x80;
  return raw;
}

function input(name: string, datatype: V2Datatype, shape: number[], raw: Uint8Array): InferInput {
  return { name, datatype, shape, parameters: new Map(), contents: { raw } };
}

function request(modelName: string, inputs: InferInput[]): InferRequest {
  return { modelName, modelVersion: '', id: 'dtypes', parameters: new Map(), inputs, outputs: [] };
}

describe('Open Inference: every datatype round-trips raw through both frameworks', () => {
  let server: ChainServer;
  let inference: OpenInference;
  const models: ServedModel[] = [
    { name: 'tf_all', basePath: path.join(tensorFlowFixtures(), 'all_dtypes'), platform: 'tensorflow' },
    { name: 'torch_all', basePath: path.dirname(torchModel('all_dtypes')), platform: 'pytorch' },
  ];
  const frameworks = [
    { model: 'tf_all', datatypes: [...NUMERIC, 'BYTES'] as V2Datatype[] },
    { model: 'torch_all', datatypes: NUMERIC },
  ];

  before(async () => {
    server = await startChainServer(models);
    await Promise.all(models.map(({ name }) => server.waitAvailable(name)));
    const platforms = new Map(models.map(({ name, platform }) => [name, platform]));
    inference = new OpenInference(server.manager, { platformOf: (model) => platforms.get(model) });
  });
  after(() => server.stop());

  // 'raw' outputs (the gRPC transport's) as well as 'host' ones; RAW_LARGE elements pass the
  // native side's copy threshold (16 KiB) for every width, so both of its paths are covered.
  const RAW_LARGE = 20_000;
  const cases = [
    { outputEncoding: 'host' as const, counts: [ELEMENTS, 0] },
    { outputEncoding: 'raw' as const, counts: [ELEMENTS, 0, RAW_LARGE] },
  ];
  for (const { model, datatypes } of frameworks) {
    for (const { outputEncoding, counts } of cases) {
      for (const rows of counts) {
        it(`${model}: ${datatypes.join(' ')} with ${rows} elements each, bit for bit, '${outputEncoding}' outputs`, async () => {
          const random = prng(13 + rows);
          const sent = new Map<V2Datatype, Uint8Array>();
          const strings = Array.from({ length: rows }, (_, i) =>
            Uint8Array.from({ length: random.int(i === 1 ? 1 : 40) }, () => random.int(256)),
          );
          for (const datatype of datatypes) {
            sent.set(datatype, datatype === 'BYTES' ? bytesContents(strings) : rawElements(datatype, rows, random));
          }
          const inputs = datatypes.map((datatype) =>
            input(datatype.toLowerCase(), datatype, [rows], sent.get(datatype)!),
          );
          const response = await inference.infer(request(model, inputs), { outputEncoding });
          assert.equal(response.modelName, model);
          assert.equal(response.modelVersion, '1');
          assert.deepEqual(
            response.outputs.map((output) => output.name).sort(),
            datatypes.map((d) => `${d.toLowerCase()}_out`).sort(),
          );
          for (const output of response.outputs) {
            const datatype = output.name.slice(0, -'_out'.length).toUpperCase() as V2Datatype;
            assert.equal(output.datatype, datatype, output.name);
            assert.deepEqual(output.shape, [rows], output.name);
            const tensor: HostTensorOutput | RawTensorOutput = output.tensor;
            if ('raw' in tensor) {
              assert.ok(Buffer.isBuffer(tensor.raw), output.name);
              assert.ok(!('handle' in tensor), `${output.name}: a 'raw' output holds no HostTensorHandle`);
              assert.deepEqual(new Uint8Array(tensor.raw), new Uint8Array(sent.get(datatype)!), output.name);
            } else if (datatype === 'BYTES') {
              assert.deepEqual(
                tensor.strings?.map((s) => new Uint8Array(s)),
                strings,
                output.name,
              );
            } else {
              assert.deepEqual(new Uint8Array(tensor.data!), sent.get(datatype), output.name);
            }
          }
        });
      }
    }
  }

  /** Typed values (gRPC's `contents`, REST's JSON `data`) of each datatype, its extremes included. */
  const VALUES: Record<V2Datatype, Array<number | bigint | boolean | string>> = {
    BOOL: [true, false, true],
    UINT8: [0, 7, 0xff],
    UINT16: [0, 7, 0xffff],
    UINT32: [0, 7, 0xffffffff],
    UINT64: [0n, 7n, 2n ** 64n - 1n],
    INT8: [-0x80, 7, 0x7f],
    INT16: [-0x8000, 7, 0x7fff],
    INT32: [-0x80000000, 7, 0x7fffffff],
    INT64: [-(2n ** 63n), 7n, 2n ** 63n - 1n],
    FP16: [-1.5, 0.25, 65504],
    BF16: [-1.5, 0.25, 3.3895313892515355e38],
    FP32: [-1.5, 0.25, 3.4028234663852886e38],
    FP64: [-1.5, 0.25, Number.MAX_VALUE],
    BYTES: ['duo', '', 's\u00e9rve'],
  };

  /** A 'host' output's values, read back by its datatype. */
  function valuesOf(datatype: V2Datatype, output: HostTensorOutput): Array<number | bigint | boolean | string> {
    if (datatype === 'BYTES') return output.strings!.map((s) => s.toString('utf8'));
    const data = output.data!;
    switch (datatype) {
      case 'BOOL':
        return [...new Uint8Array(data)].map((b) => b !== 0);
      case 'FP16':
        return [...new Uint16Array(data)].map(halfToNumber);
      case 'BF16':
        return [...new Uint16Array(data)].map(bfloat16ToNumber);
      default: {
        const typed = {
          UINT8: Uint8Array,
          UINT16: Uint16Array,
          UINT32: Uint32Array,
          UINT64: BigUint64Array,
          INT8: Int8Array,
          INT16: Int16Array,
          INT32: Int32Array,
          INT64: BigInt64Array,
          FP32: Float32Array,
          FP64: Float64Array,
        }[datatype];
        return [...new typed(data)];
      }
    }
  }

  for (const { model, datatypes } of frameworks) {
    it(`${model}: typed values of every datatype come back as sent`, async () => {
      const inputs: InferInput[] = datatypes.map((datatype) => ({
        name: datatype.toLowerCase(),
        datatype,
        shape: [3],
        parameters: new Map(),
        contents: { values: VALUES[datatype] as ArrayLike<number> },
      }));
      const response = await inference.infer(request(model, inputs), {});
      for (const output of response.outputs) {
        assert.deepEqual(valuesOf(output.datatype, output.tensor), VALUES[output.datatype], output.name);
      }
    });
  }

  for (const { model, datatypes } of frameworks) {
    it(`${model}: raw BOOL bytes other than 0 and 1 arrive as true (1), as TensorProto's do`, async () => {
      const inputs = datatypes.map((datatype) =>
        datatype === 'BOOL'
          ? input('bool', 'BOOL', [4], Uint8Array.from([2, 0, 255, 1]))
          : input(datatype.toLowerCase(), datatype, [4], rawElements(datatype, 4, prng(2))),
      );
      const response = await inference.infer(request(model, inputs), {});
      const bools = response.outputs.find((output) => output.name === 'bool_out')!;
      assert.deepEqual([...new Uint8Array(bools.tensor.data!)], [1, 0, 1, 1]);
    });
  }

  it('malformed raw BYTES contents are INVALID_ARGUMENT, and the model keeps serving', async () => {
    const good = bytesContents([Buffer.from('duo'), Buffer.from('serve')]);
    const numeric = NUMERIC.map((datatype) =>
      input(datatype.toLowerCase(), datatype, [2], rawElements(datatype, 2, prng(1))),
    );
    const cases: Array<[Uint8Array, string]> = [
      [good.subarray(0, good.length - 1), 'raw BYTES contents: element 1 of 2 says 5 bytes but only 4 remain'],
      [Buffer.concat([good, Buffer.from([0])]), 'raw BYTES contents: 1 bytes remain after the 2 elements of shape [2]'],
      [good.subarray(0, 9), 'raw BYTES contents: element 1 of 2 has no 4-byte length (2 bytes remain)'],
      [good.subarray(0, 7), 'raw BYTES contents: 7 bytes cannot hold the 2 elements of shape [2]'],
    ];
    for (const [raw, message] of cases) {
      await assert.rejects(
        inference.infer(request('tf_all', [...numeric, input('bytes', 'BYTES', [2], raw)]), {}),
        (error) => {
          assert.ok(error instanceof ServingError);
          assert.equal(error.code, 'INVALID_ARGUMENT');
          assert.match(error.message, new RegExp(message.replace(/[[\]()]/g, '\\$&')));
          return true;
        },
      );
    }
    const response = await inference.infer(request('tf_all', [...numeric, input('bytes', 'BYTES', [2], good)]), {});
    assert.deepEqual(response.outputs.find((output) => output.name === 'bytes_out')?.tensor.strings?.map(String), [
      'duo',
      'serve',
    ]);
  });
});
