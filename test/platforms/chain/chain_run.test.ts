/**
 * Chains of real TensorFlow and PyTorch models inside one request: the numbers equal the
 * models run one after the other, tensors pass between frameworks without a copy, and the
 * answer comes in the encoding asked for.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ServingError } from '../../../src/errors/serving_error';
import {
  loadTensorCodec,
  type HostTensorOutput,
  type RawTensorOutput,
  type TensorSource,
} from '../../../src/native/backend_addon';
import type { Manager } from '../../../src/core/manager';
import type { ServableRequest } from '../../../src/core/servable_request';
import { metricsRegistry } from '../../../src/monitoring/registry';
import { CHAIN_STEP_FAILURES, CHAIN_STEP_LATENCY } from '../../../src/platforms/chain/chain_metrics';
import { chainPlatform } from '../../../src/platforms/chain/chain_platform';
import { Protos } from '../../../src/protos';
import type { InferenceServable } from '../../../src/servables/inference_servable';
import {
  type ChainServer,
  example,
  floatInput,
  floats,
  scratchDir,
  seeded,
  startChainServer,
  tensorFlowFixture,
  writeChain,
} from './chain_server';
import { predict } from '../../../src/servables/predictor';

const FEATURES_TO_RANKER = `
input { name: "x" }
step { name: "featurize" model: "features" inputs { key: "x" value: "request:x" } }
step { name: "rank" model: "ranker" inputs { key: "features" value: "featurize:features" } }
output { name: "score" source: "rank:score" }
output { name: "features" source: "featurize:features" }
`;

const TORCH_TO_TF = `
input { name: "x" }
step { name: "torch" model: "half_plus_two_torch" inputs { key: "x" value: "request:x" } }
step { name: "tf" model: "half_plus_two" inputs { key: "x" value: "torch:y" } }
output { name: "y" source: "tf:y" }
`;

// x feeds two models of different frameworks; a third model adds their outputs.
const FAN_OUT_FAN_IN = `
input { name: "x" }
step { name: "left" model: "half_plus_two" inputs { key: "x" value: "request:x" } }
step { name: "right" model: "half_plus_two_torch" inputs { key: "x" value: "request:x" } }
step {
  name: "join"
  model: "two_signatures"
  signature_name: "add"
  inputs { key: "a" value: "left:y" }
  inputs { key: "b" value: "right:y" }
}
output { name: "sum" source: "join:sum" }
output { name: "left" source: "left:y" }
`;

/** TensorProto bytes of a float tensor in float_val (no copy to decode) or tensor_content. */
function floatProto(values: Float32Array, shape: number[], content = false): Uint8Array {
  return Protos.TensorProto.encode({
    dtype: 1,
    tensor_shape: { dim: shape.map((size) => ({ size })) },
    ...(content
      ? { tensor_content: Buffer.from(values.buffer, values.byteOffset, values.byteLength) }
      : { float_val: Array.from(values) }),
  }).finish();
}

function decodedFloats(bytes: unknown): { shape: number[]; values: Float32Array; content: boolean } {
  const proto = Protos.TensorProto.decode(bytes as Uint8Array) as unknown as {
    tensor_shape: { dim: Array<{ size: number | { toNumber(): number } }> };
    float_val: number[];
    tensor_content: Uint8Array;
  };
  const shape = proto.tensor_shape.dim.map((dim) => Number(dim.size));
  const content = proto.tensor_content.length > 0;
  const values = content
    ? new Float32Array(new Uint8Array(proto.tensor_content).buffer)
    : Float32Array.from(proto.float_val);
  return { shape, values, content };
}

/** A manager whose servables log "start <model>" and "end <model>" around each run. */
function tracingManager(manager: Manager, events: string[]): Manager {
  return new Proxy(manager, {
    get(target, key) {
      if (key !== 'getServableHandle') return Reflect.get(target, key).bind(target);
      return (request: ServableRequest) => {
        const handle = target.getServableHandle<InferenceServable>(request);
        const servable: InferenceServable = {
          signatures: handle.servable.signatures,
          async runChecked(run) {
            events.push(`start ${request.name}`);
            try {
              return await handle.servable.runChecked(run);
            } finally {
              events.push(`end ${request.name}`);
            }
          },
        };
        return { id: handle.id, servable, release: () => handle.release() };
      };
    },
  });
}

async function rejection(promise: Promise<unknown>): Promise<ServingError> {
  try {
    await promise;
  } catch (error) {
    return error as ServingError;
  }
  throw new assert.AssertionError({ message: 'expected a rejection' });
}

describe('chain runs', () => {
  let server: ChainServer;
  const scratch = scratchDir();
  const codec = loadTensorCodec();

  before(async () => {
    server = await startChainServer(
      [
        example('features', 'tensorflow'),
        example('ranker', 'pytorch'),
        example('half_plus_two', 'tensorflow'),
        example('half_plus_two_torch', 'pytorch'),
        tensorFlowFixture('two_signatures'),
        writeChain(scratch, 'features_to_ranker', { 1: FEATURES_TO_RANKER }),
        writeChain(scratch, 'torch_to_tf', { 1: TORCH_TO_TF }),
        writeChain(scratch, 'fan', { 1: FAN_OUT_FAN_IN }),
      ],
      { scratch: [scratch] },
    );
    for (const name of ['features_to_ranker', 'torch_to_tf', 'fan']) await server.waitAvailable(name);
  });
  after(() => server.stop());

  /** Runs one model (latest) with 'host' outputs. */
  async function runModel(name: string, inputs: Record<string, TensorSource>): Promise<Map<string, HostTensorOutput>> {
    return (await server.run(name, { inputs: new Map(Object.entries(inputs)) })) as Map<string, HostTensorOutput>;
  }

  async function copiesDuring(action: () => Promise<unknown>): Promise<{ copies: number; bytes: number }> {
    const before = codec.copyStats();
    await action();
    const after = codec.copyStats();
    return { copies: after.copies - before.copies, bytes: after.bytes - before.bytes };
  }

  it('TensorFlow -> PyTorch: the same numbers as running the two models one after the other', async () => {
    const x = floatInput(seeded(4 * 32), [4, 32]);
    const features = await runModel('features', { x });
    const score = await runModel('ranker', { features: features.get('features')!.handle });
    const chained = await server.run('features_to_ranker', { inputs: new Map([['x', x]]) });
    assert.deepEqual([...chained.keys()], ['score', 'features']);
    assert.deepEqual((chained.get('score') as HostTensorOutput).shape, [4]);
    assert.deepEqual(floats(chained.get('score')), floats(score.get('score')));
    assert.deepEqual(floats(chained.get('features')), floats(features.get('features')));
  });

  it('PyTorch -> TensorFlow: the same numbers as running the two models one after the other', async () => {
    const x = floatInput([1, 2, -3, 1e6], [4]);
    const first = await runModel('half_plus_two_torch', { x });
    const second = await runModel('half_plus_two', { x: first.get('y')!.handle });
    const chained = await server.run('torch_to_tf', { inputs: new Map([['x', x]]) });
    assert.deepEqual(floats(chained.get('y')), floats(second.get('y')));
    assert.deepEqual([...floats(chained.get('y'))], [3.25, 3.5, 2.25, 250003]);
  });

  it('fan-out and fan-in: one input to two frameworks, their outputs into a third model', async () => {
    const x = floatInput([1, 4], [2]);
    const outputs = await server.run('fan', { inputs: new Map([['x', x]]) });
    const left = await runModel('half_plus_two', { x });
    const right = await runModel('half_plus_two_torch', { x });
    const sum = await server.run('two_signatures', {
      signatureName: 'add',
      inputs: new Map([
        ['a', left.get('y')!.handle],
        ['b', right.get('y')!.handle],
      ]),
    });
    assert.deepEqual(floats(outputs.get('sum')), floats(sum.get('sum')));
    assert.deepEqual([...floats(outputs.get('sum'))], [5, 8]);
    assert.deepEqual([...floats(outputs.get('left'))], [2.5, 4]);
  });

  it('runs independent steps at the same time, and a step once its inputs are ready', async () => {
    const events: string[] = [];
    const tracing = tracingManager(server.manager, events);
    const chain = await chainPlatform(tracing).load(path.join(scratch, 'fan', '1'));
    await predict(chain, {
      signatureName: '',
      inputs: new Map([['x', floatInput([1, 4], [2])]]),
      outputFilter: [],
      encoding: 'host',
    });
    const at = (event: string) => events.indexOf(event);
    assert.equal(events.length, 6);
    assert.ok(at('start half_plus_two_torch') < at('end half_plus_two'), events.join(', '));
    assert.ok(at('start half_plus_two') < at('end half_plus_two_torch'), events.join(', '));
    assert.ok(at('start two_signatures') > Math.max(at('end half_plus_two'), at('end half_plus_two_torch')));
  });

  it('answers typed fields or tensor_content, encoded once from the last step', async () => {
    const x = seeded(2 * 32);
    const host = await server.run('features_to_ranker', { inputs: new Map([['x', floatInput(x, [2, 32])]]) });
    for (const encoding of ['fields', 'content'] as const) {
      const outputs = await server.run('features_to_ranker', {
        inputs: new Map([['x', floatProto(x, [2, 32])]]),
        encoding,
      });
      const score = decodedFloats(outputs.get('score'));
      assert.equal(score.content, encoding === 'content');
      assert.deepEqual(score.shape, [2]);
      assert.deepEqual(score.values, floats(host.get('score')));
      assert.deepEqual(decodedFloats(outputs.get('features')).shape, [2, 256]);
    }
  });

  it("answers 'raw' outputs, made from the last step's tensors: their bytes, dtype and shape", async () => {
    const x = seeded(2 * 32);
    const host = await server.run('features_to_ranker', { inputs: new Map([['x', floatInput(x, [2, 32])]]) });
    const outputs = await server.run('features_to_ranker', {
      inputs: new Map([['x', floatInput(x, [2, 32])]]),
      encoding: 'raw',
    });
    for (const alias of ['score', 'features']) {
      const output = outputs.get(alias) as RawTensorOutput;
      const expected = host.get(alias) as HostTensorOutput;
      assert.ok(Buffer.isBuffer(output.raw), alias);
      assert.deepEqual([output.dtype, output.shape], [expected.dtype, expected.shape], alias);
      assert.deepEqual(output.raw, Buffer.from(expected.data!), alias);
    }
  });

  it('hands tensors between frameworks without a copy', async () => {
    const x = seeded(8 * 32);
    // float_val in, typed fields out: decoding and encoding are conversions, the hand-over is free.
    const fields = await copiesDuring(() =>
      server.run('features_to_ranker', { inputs: new Map([['x', floatProto(x, [8, 32])]]), encoding: 'fields' }),
    );
    assert.deepEqual(fields, { copies: 0, bytes: 0 });
    const torchToTf = await copiesDuring(() =>
      server.run('torch_to_tf', { inputs: new Map([['x', floatProto(x, [256])]]), encoding: 'fields' }),
    );
    assert.deepEqual(torchToTf, { copies: 0, bytes: 0 });
    // tensor_content in: the one copy is the request's, as for a single model.
    const content = await copiesDuring(() =>
      server.run('features_to_ranker', { inputs: new Map([['x', floatProto(x, [8, 32], true)]]), encoding: 'host' }),
    );
    assert.deepEqual(content, { copies: 1, bytes: x.byteLength });
  });

  it('decodes a request input that feeds two steps once', async () => {
    const x = Float32Array.from([1, 4]);
    const typedArray = await copiesDuring(() => server.run('fan', { inputs: new Map([['x', floatInput(x, [2])]]) }));
    assert.deepEqual(typedArray, { copies: 1, bytes: x.byteLength });
    const content = await copiesDuring(() => server.run('fan', { inputs: new Map([['x', floatProto(x, [2], true)]]) }));
    assert.deepEqual(content, { copies: 1, bytes: x.byteLength });
  });

  it('runs only the steps an output_filter needs', async () => {
    const timings = new Map<string, number>();
    const outputs = await server.run('features_to_ranker', {
      inputs: new Map([['x', floatInput(seeded(32), [1, 32])]]),
      outputFilter: ['features'],
      timings,
    });
    assert.deepEqual([...outputs.keys()], ['features']);
    assert.deepEqual([...timings.keys()], ['featurize']);
  });

  it('reports per-step timings and records them in the Prometheus registry', async () => {
    const before = await stepFigures('features_to_ranker', 'rank');
    const timings = new Map<string, number>();
    await server.run('features_to_ranker', { inputs: new Map([['x', floatInput(seeded(32), [1, 32])]]), timings });
    assert.deepEqual([...timings.keys()], ['featurize', 'rank']);
    for (const microseconds of timings.values()) assert.ok(Number.isInteger(microseconds) && microseconds > 0);
    const after = await stepFigures('features_to_ranker', 'rank');
    assert.equal(after.runs, before.runs + 1);
    assert.ok(after.sumUs > before.sumUs);
    assert.equal(after.failures, before.failures);
  });

  it('serves the signature its steps imply', () => {
    const handle = server.manager.getServableHandle<InferenceServable>({ name: 'features_to_ranker' });
    try {
      const signature = handle.servable.signatures.get('serving_default')!;
      assert.deepEqual([...signature.inputs], [['x', { name: 'x', dtype: 1, shape: [-1, 32] }]]);
      assert.deepEqual(
        [...signature.outputs],
        [
          ['score', { name: 'rank:score', dtype: 1, shape: [-1] }],
          ['features', { name: 'featurize:features', dtype: 1, shape: [-1, 256] }],
        ],
      );
    } finally {
      handle.release();
    }
  });

  it("fails with the failing step named and that step's code", async () => {
    const error = await rejection(
      server.run('features_to_ranker', { inputs: new Map([['x', floatInput(seeded(31), [1, 31])]]) }),
    );
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.match(error.message, /^step 'featurize' \(model features\): /);
  });

  it('counts a failed step run in the Prometheus registry', async () => {
    const before = await stepFigures('features_to_ranker', 'featurize');
    await rejection(server.run('features_to_ranker', { inputs: new Map([['x', floatInput(seeded(31), [1, 31])]]) }));
    const after = await stepFigures('features_to_ranker', 'featurize');
    assert.equal(after.failures, before.failures + 1);
    assert.equal(after.runs, before.runs + 1);
  });

  it('checks request inputs as a model does', async () => {
    const wrongDtype = await rejection(
      server.run('features_to_ranker', { inputs: new Map([['x', { dtype: 3, shape: [1], data: new Int32Array(1) }]]) }),
    );
    assert.equal(wrongDtype.code, 'INVALID_ARGUMENT');
    assert.equal(
      wrongDtype.message,
      "step 'featurize' (model features): Expects arg[0] to be float but int32 is provided",
    );
    const unknown = await rejection(
      server.run('features_to_ranker', { inputs: new Map([['y', floatInput([1], [1])]]) }),
    );
    assert.match(unknown.message, /^input tensor alias not found in signature: y\./);
    const signature = await rejection(
      server.run('features_to_ranker', { signatureName: 'other', inputs: new Map([['x', floatInput([1], [1])]]) }),
    );
    assert.equal(signature.code, 'FAILED_PRECONDITION');
  });
});

/** A chain step's figures in the registry: runs (the latency histogram's count), their summed time, failures. */
async function stepFigures(chain: string, step: string): Promise<{ runs: number; sumUs: number; failures: number }> {
  const valueOf = async (metric: string, sample: string) => {
    const { values } = await metricsRegistry.getSingleMetric(metric)!.get();
    const found = values.find(
      (value) =>
        ((value as { metricName?: string }).metricName ?? metric) === sample &&
        value.labels.chain === chain &&
        value.labels.step === step,
    );
    return found?.value ?? 0;
  };
  return {
    runs: await valueOf(CHAIN_STEP_LATENCY, `${CHAIN_STEP_LATENCY}_count`),
    sumUs: await valueOf(CHAIN_STEP_LATENCY, `${CHAIN_STEP_LATENCY}_sum`),
    failures: await valueOf(CHAIN_STEP_FAILURES, CHAIN_STEP_FAILURES),
  };
}
