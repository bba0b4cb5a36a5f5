/**
 * Copies of tensor payloads on the request path are a budget (docs/design.md): this test
 * fails when a change adds one where none is needed. It runs the bundled example models
 * (var/models/examples, exported by setup) through both framework addons and the tensor codec
 * and reads the one copy counter they share around each step.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it, before, after } from 'node:test';
import * as protobuf from 'protobufjs';

import { tensorSourceOf } from '../../src/server/open_inference/infer_inputs';
import type { InferRequest, InferResponse } from '../../src/server/open_inference/infer_request';
import { OpenInference } from '../../src/server/open_inference/open_inference';
import { encodeInferResponse } from '../../src/server/grpc/infer_response';
import { type ChainServer, example, startChainServer } from '../platforms/chain/chain_server';
import { tensorFlowFixtures } from '../platforms/tensorflow/fixtures';
import {
  loadBackendAddon,
  loadTensorCodec,
  type BackendAddon,
  type HostTensorOutput,
  type ModelHandle,
} from '../../src/native/backend_addon';

const EXAMPLES = path.resolve(__dirname, '..', '..', '..', 'var', 'models', 'examples');
const ROWS = 4;
const WIDTH = 512;
const DT_FLOAT = 1;

/** TensorProto bytes for a float32 [ROWS, WIDTH] tensor, as tensor_content or as float_val. */
function floatTensorProto(values: Float32Array, asContent: boolean): Uint8Array {
  const writer = protobuf.Writer.create();
  writer.uint32((1 << 3) | 0).int32(DT_FLOAT);
  writer.uint32((2 << 3) | 2).fork();
  for (const size of [ROWS, WIDTH])
    writer
      .uint32((2 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 0)
      .int64(size)
      .ldelim();
  writer.ldelim();
  if (asContent) {
    writer.uint32((4 << 3) | 2).bytes(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  } else {
    writer.uint32((5 << 3) | 2).fork();
    for (const value of values) writer.float(value);
    writer.ldelim();
  }
  return writer.finish();
}

describe('copy budget of the request path', () => {
  let tensorflow: BackendAddon;
  let pytorch: BackendAddon;
  let mlpTf: ModelHandle;
  let mlpTorch: ModelHandle;
  const input = Float32Array.from({ length: ROWS * WIDTH }, (_, i) => Math.sin(i));
  const inputBytes = input.byteLength;

  before(async () => {
    tensorflow = loadBackendAddon('tensorflow');
    pytorch = loadBackendAddon('pytorch');
    mlpTf = await tensorflow.load(path.join(EXAMPLES, 'mlp_tf', '1'), {});
    mlpTorch = await pytorch.load(path.join(EXAMPLES, 'mlp_torch', '1'), {});
  });
  after(() => {
    tensorflow.unload(mlpTf);
    pytorch.unload(mlpTorch);
  });

  const codec = loadTensorCodec();

  /** The copies (count, bytes) that `step` makes. Every addon shares one counter. */
  async function copiesDuring(step: () => Promise<unknown>): Promise<{ copies: number; bytes: number }> {
    const before = codec.copyStats();
    await step();
    const after = codec.copyStats();
    return { copies: after.copies - before.copies, bytes: after.bytes - before.bytes };
  }

  const tfInput = 'serving_default_x:0';
  const tfOutput = 'StatefulPartitionedCall:0';

  it('REST JSON in, JSON out through the native codec: no copy (reading and writing are conversions)', async () => {
    const rows = Array.from({ length: ROWS }, (_, r) => Array.from(input.subarray(r * WIDTH, (r + 1) * WIDTH)));
    const body = Buffer.from(JSON.stringify({ instances: rows }));
    const spec = codec.predictJsonSpec('serving_default', [['serving_default', [['x', DT_FLOAT]]]]);
    let text = '';
    const copies = await copiesDuring(async () => {
      const read = await codec.readPredictJson(body, spec);
      assert.ok(read, 'the native reader reads a plain float body');
      const [[, output]] = (await pytorch.run(mlpTorch, [['x', read.inputs[0][1]]], ['output_0'], 'host')) as Array<
        [string, HostTensorOutput]
      >;
      const written = await codec.writePredictJson([['y', output.handle]], 'row');
      assert.ok(written, 'the native writer writes float outputs');
      text = written.toString('utf8');
    });
    assert.deepEqual(copies, { copies: 0, bytes: 0 });
    const predictions = (JSON.parse(text) as { predictions: number[][] }).predictions;
    assert.equal(predictions.length, ROWS);
    assert.equal(predictions[0].length, WIDTH);
  });

  it('gRPC with tensor_content in, typed fields out: one copy, of the input', async () => {
    const request = floatTensorProto(input, true);
    const copies = await copiesDuring(() => tensorflow.run(mlpTf, [[tfInput, request]], [tfOutput], 'fields'));
    assert.deepEqual(copies, { copies: 1, bytes: inputBytes });
  });

  it('gRPC with float_val in, typed fields out: no copy (decoding is the conversion)', async () => {
    const request = floatTensorProto(input, false);
    assert.deepEqual(await copiesDuring(() => pytorch.run(mlpTorch, [['x', request]], ['output_0'], 'fields')), {
      copies: 0,
      bytes: 0,
    });
  });

  it('host outputs are views of the framework tensor: no copy', async () => {
    const request = floatTensorProto(input, false);
    const copies = await copiesDuring(() => tensorflow.run(mlpTf, [[tfInput, request]], [tfOutput], 'host'));
    assert.deepEqual(copies, { copies: 0, bytes: 0 });
  });

  it('a TensorFlow output feeds a PyTorch model without a copy, with the same numbers', async () => {
    const request = floatTensorProto(input, false);
    const [[, tfOut]] = (await tensorflow.run(mlpTf, [[tfInput, request]], [tfOutput], 'host')) as Array<
      [string, HostTensorOutput]
    >;
    let torchOut: HostTensorOutput | undefined;
    const copies = await copiesDuring(async () => {
      [[, torchOut]] = (await pytorch.run(mlpTorch, [['x', tfOut.handle]], ['output_0'], 'host')) as Array<
        [string, HostTensorOutput]
      >;
    });
    assert.deepEqual(copies, { copies: 0, bytes: 0 });
    // Same weights in both frameworks: mlp(mlp(x)) computed in two frameworks agrees with TF twice.
    const [[, tfTwice]] = (await tensorflow.run(mlpTf, [[tfInput, tfOut.handle]], [tfOutput], 'host')) as Array<
      [string, HostTensorOutput]
    >;
    const a = new Float32Array(torchOut!.data!);
    const b = new Float32Array(tfTwice.data!);
    assert.equal(a.length, ROWS * WIDTH);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(b[i])), `element ${i}`);
  });

  it('a typed-array input is copied once into an aligned buffer', async () => {
    const copies = await copiesDuring(() =>
      pytorch.run(mlpTorch, [['x', { dtype: DT_FLOAT, shape: [ROWS, WIDTH], data: input }]], ['output_0'], 'host'),
    );
    assert.deepEqual(copies, { copies: 1, bytes: inputBytes });
  });

  describe('runBatch: one copy per task, into the batch tensor, and none out', () => {
    const TASKS = 4;
    const options = { allowedBatchSizes: [], padVariableLengthInputs: false };
    const sources = {
      'TensorProto tensor_content': () => floatTensorProto(input, true),
      'TensorProto float_val': () => floatTensorProto(input, false),
      '{dtype, shape, data}': () => ({ dtype: DT_FLOAT, shape: [ROWS, WIDTH], data: input }),
    };
    for (const [form, source] of Object.entries(sources)) {
      it(`${form} in, host and typed fields out: ${TASKS} copies of ${TASKS} tasks`, async () => {
        for (const encoding of ['host', 'fields'] as const) {
          const tasks = Array.from({ length: TASKS }, () => ({ inputs: [['x', source()] as [string, Uint8Array]] }));
          const copies = await copiesDuring(() => pytorch.runBatch(mlpTorch, tasks, ['output_0'], encoding, options));
          assert.deepEqual(copies, { copies: TASKS, bytes: TASKS * inputBytes }, encoding);
        }
      });
    }

    it('HostTensorHandles in: one copy each; padding rows one copy each', async () => {
      const handle = (await codec.decode(floatTensorProto(input, false))).handle;
      const tasks = Array.from({ length: TASKS }, () => ({ inputs: [[tfInput, handle] as [string, typeof handle]] }));
      const padded = { allowedBatchSizes: [TASKS * ROWS + 2], padVariableLengthInputs: false };
      const copies = await copiesDuring(() => tensorflow.runBatch(mlpTf, tasks, [tfOutput], 'host', padded));
      assert.deepEqual(copies, { copies: TASKS + 2, bytes: TASKS * inputBytes + 2 * WIDTH * 4 });
    });
  });

  describe('Open Inference raw contents (OpenInference.infer): one copy in, none out (one for small raw outputs)', () => {
    let server: ChainServer;
    let inference: OpenInference;
    const models = [example('mlp_tf', 'tensorflow'), example('mlp_torch', 'pytorch')];
    const allDtypes = {
      name: 'tf_all',
      basePath: path.join(tensorFlowFixtures(), 'all_dtypes'),
      platform: 'tensorflow',
    };
    before(async () => {
      server = await startChainServer([...models, allDtypes]);
      await server.waitAvailable(allDtypes.name);
      await Promise.all(models.map(({ name }) => server.waitAvailable(name)));
      const platforms = new Map([...models, allDtypes].map(({ name, platform }) => [name, platform]));
      inference = new OpenInference(server.manager, { platformOf: (model) => platforms.get(model) });
    });
    after(() => server.stop());

    /** The same model run straight through its addon, for the numbers. */
    const direct = {
      mlp_tf: () =>
        tensorflow.run(mlpTf, [[tfInput, { dtype: DT_FLOAT, shape: [ROWS, WIDTH], data: input }]], [tfOutput], 'host'),
      mlp_torch: () =>
        pytorch.run(mlpTorch, [['x', { dtype: DT_FLOAT, shape: [ROWS, WIDTH], data: input }]], ['output_0'], 'host'),
    };

    for (const { name } of models) {
      it(`${name}: FP32 raw_input_contents in, host outputs out: one copy, of the input`, async () => {
        // As a transport hands it over: a view into the request's own buffer, at an odd offset.
        const wire = new Uint8Array(inputBytes + 3);
        wire.set(new Uint8Array(input.buffer), 3);
        const raw = wire.subarray(3);
        const request: InferRequest = {
          modelName: name,
          modelVersion: '',
          id: '',
          parameters: new Map(),
          inputs: [
            {
              name: 'x',
              datatype: 'FP32',
              shape: [ROWS, WIDTH],
              parameters: new Map(),
              contents: { raw },
            },
          ],
          outputs: [],
        };
        let response: InferResponse | undefined;
        const copies = await copiesDuring(async () => {
          response = await inference.infer(request, {});
        });
        assert.deepEqual(copies, { copies: 1, bytes: inputBytes });
        // The counter sees native copies only: the JS side must hand the run the request's own view.
        assert.equal((tensorSourceOf(request.inputs[0]) as { data: ArrayBufferView }).data, raw);
        const [output] = response!.outputs;
        assert.deepEqual(output.shape, [ROWS, WIDTH]);
        const [[, expected]] = (await direct[name as keyof typeof direct]()) as Array<[string, HostTensorOutput]>;
        const got = new Float32Array(output.tensor.data!);
        const want = new Float32Array(expected.data!);
        assert.equal(got.length, want.length);
        for (let i = 0; i < got.length; i++)
          assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])), `element ${i}`);
      });
    }

    const ALL_DATATYPES = [
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
      'BYTES',
    ];

    /** An FP32 identity (the all_dtypes fixture's fp32) of `elements`, raw in, 'raw' outputs out. */
    async function rawIdentity(elements: number) {
      const raw = new Uint8Array(new Float32Array(Array.from({ length: elements }, (_, i) => i - 0.5)).buffer);
      const request: InferRequest = {
        modelName: 'tf_all',
        modelVersion: '',
        id: '',
        parameters: new Map(),
        // The fixture takes every datatype: the others are sent empty.
        inputs: ALL_DATATYPES.map((datatype) => ({
          name: datatype.toLowerCase(),
          datatype,
          shape: [datatype === 'FP32' ? elements : 0],
          parameters: new Map(),
          contents: { raw: datatype === 'FP32' ? raw : new Uint8Array(0) },
        })),
        outputs: [{ name: 'fp32_out', parameters: new Map() }],
      };
      let response: InferResponse<'raw'> | undefined;
      const copies = await copiesDuring(async () => {
        response = await inference.infer(request, { outputEncoding: 'raw' });
        encodeInferResponse(response); // the gRPC answer: its one copy is JavaScript's, never native
      });
      assert.deepEqual(new Uint8Array(response!.outputs[0].tensor.raw), raw);
      return copies;
    }

    it("'raw' outputs of 16 KiB or more: the Buffer views the framework's tensor, no copy out", async () => {
      assert.deepEqual(await rawIdentity(4096), { copies: 1, bytes: 4096 * 4 });
    });

    it("'raw' outputs under 16 KiB: one counted copy out, into a Buffer with no finalizer", async () => {
      assert.deepEqual(await rawIdentity(100), { copies: 2, bytes: 2 * 100 * 4 });
    });
  });
});
