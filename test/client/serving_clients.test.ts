/**
 * The typed TF-Serving clients of the `duoserve` package against a running bin/duoserve: Predict
 * on a TensorFlow model, a PyTorch model and a chain of both, Classify and Regress on the iris
 * example, metadata, status and reload, over gRPC and REST; the same answers from both, and
 * each error as the ServingError the server raised.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DataType,
  GrpcServingClient,
  RestServingClient,
  ServingError,
  type ExampleFeatures,
  type ModelEntry,
} from '../../src/index';
import { Protos } from '../../src/protos';
import { halfBits, halfToNumber } from '../../src/tensors/float16';
import { tensorFlowFixtures } from '../platforms/tensorflow/fixtures';
import { freePort, modelConfigText, startDuoserve, type DuoserveProcess } from '../server/lifecycle_helpers';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');
const X = { dtype: 'float', shape: [3], data: new Float32Array([1, 2, 5]) };
const Y = [2.5, 3, 4.5];

const entry = (name: string, platform: string): ModelEntry => ({ name, basePath: path.join(EXAMPLES, name), platform });
const MODELS: ModelEntry[] = [
  entry('half_plus_two', 'tensorflow'),
  entry('half_plus_two_torch', 'pytorch'),
  entry('iris', 'tensorflow'),
  entry('features', 'tensorflow'),
  entry('ranker', 'pytorch'),
  entry('features_to_ranker', 'chain'),
  { name: 'many_dtypes', basePath: path.join(tensorFlowFixtures(), 'many_dtypes'), platform: 'tensorflow' },
];

// One flower of each kind, and one in between (as test/compat/tf_examples.py).
const FLOWERS: ExampleFeatures[] = [
  [5.1, 3.5, 1.4, 0.2],
  [6.4, 3.2, 4.5, 1.5],
  [6.3, 3.3, 6.0, 2.5],
  [6.0, 2.7, 5.1, 1.6],
].map(([sepal_length, sepal_width, petal_length, petal_width]) => ({
  sepal_length: [sepal_length],
  sepal_width: [sepal_width],
  petal_length: [petal_length],
  petal_width: [petal_width],
}));

/** The tf.Example bytes of `features` (all float_list), for Predict on a serialized-input signature. */
function serializedExample(features: ExampleFeatures): Buffer {
  const feature = Object.fromEntries(
    Object.entries(features).map(([name, values]) => [name, { float_list: { value: [...values] } }]),
  );
  return Buffer.from(Protos.Example.encode(Protos.Example.fromObject({ features: { feature } })).finish());
}

async function servingErrorOf(work: Promise<unknown>): Promise<ServingError> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof ServingError, `not a ServingError: ${String(error)}`);
    return error;
  }
  assert.fail('expected a ServingError');
}

describe('GrpcServingClient and RestServingClient against bin/duoserve', () => {
  let server: DuoserveProcess;
  let grpcClient: GrpcServingClient;
  let restClient: RestServingClient;
  let configDir: string;
  before(async () => {
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-clients-'));
    const configFile = path.join(configDir, 'models.config');
    fs.writeFileSync(
      configFile,
      modelConfigText(
        MODELS.map((model) => ({ name: model.name, base_path: model.basePath, model_platform: model.platform! })),
      ),
    );
    const restPort = await freePort();
    server = await startDuoserve(
      [
        `--model_config_file=${configFile}`,
        `--rest_api_port=${restPort}`,
        '--duoserve_rest_listen_address=127.0.0.1',
        '--duoserve_grpc_listen_address=127.0.0.1',
      ],
      'features_to_ranker',
      180_000,
    );
    grpcClient = new GrpcServingClient(server.grpcTarget);
    restClient = new RestServingClient(`http://127.0.0.1:${restPort}`);
  });
  after(async () => {
    grpcClient?.close();
    await server?.stop();
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  const clients = () => ({ grpc: grpcClient, rest: restClient });

  for (const model of ['half_plus_two', 'half_plus_two_torch']) {
    it(`Predict on ${model}: typed arrays with shapes, over both transports`, async () => {
      for (const [transport, client] of Object.entries(clients())) {
        const { outputs } = await client.predict(model, { x: X });
        assert.equal(outputs.y.dtype, DataType.DT_FLOAT, transport);
        assert.deepEqual(outputs.y.shape, [3], transport);
        assert.ok(outputs.y.values instanceof Float32Array, transport);
        assert.deepEqual([...outputs.y.values], Y, transport);
      }
      const { modelSpec } = await grpcClient.predict({ name: model, version: 1 }, { x: X });
      assert.deepEqual(modelSpec, { name: model, version: 1, signatureName: 'serving_default' });
    });
  }

  it('Predict with int64, bool, half and string tensors, several outputs: the same typed arrays over both', async () => {
    const words = ['duo', '', 'sérve'].map((word) => Buffer.from(word));
    const inputs = {
      ids: { dtype: 'int64', shape: [3], data: new BigInt64Array([1n, -2n, 3_000_000_000n]) },
      flags: { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) },
      halves: { dtype: 'half', shape: [3], data: Uint16Array.from([0.5, -1.25, 1000], halfBits) },
      words: { dtype: 'string', shape: [3], strings: words },
    };
    for (const [transport, client] of Object.entries(clients())) {
      const { outputs } = await client.predict('many_dtypes', inputs);
      const { ids_tripled, flags_negated, halves_doubled, words_shouted, word_lengths } = outputs;
      assert.ok(ids_tripled.values instanceof BigInt64Array, transport);
      assert.deepEqual([...ids_tripled.values], [3n, -6n, 9_000_000_000n], transport);
      assert.deepEqual([flags_negated.dtype, [...flags_negated.values]], [DataType.DT_BOOL, [0, 1, 0]], transport);
      assert.ok(halves_doubled.values instanceof Uint16Array, transport);
      assert.deepEqual([...halves_doubled.values].map(halfToNumber), [1, -2.5, 2000], transport);
      // tf.strings.upper changes ASCII letters only.
      const shouted = (words_shouted.values as Buffer[]).map((word) => word.toString());
      assert.deepEqual(shouted, ['DUO!', '!', 'SéRVE!'], transport);
      assert.ok(word_lengths.values instanceof Int32Array, transport);
      assert.deepEqual([[...word_lengths.values], word_lengths.shape], [[3, 0, 6], [3]], transport);
      // Strings as raw BYTES contents too: each a 4-byte little-endian length, then its bytes.
      const raw = Buffer.concat(words.flatMap((word) => [Buffer.from(new Uint32Array([word.length]).buffer), word]));
      const again = await client.predict('many_dtypes', {
        ...inputs,
        words: { dtype: 'string', shape: [3], data: raw },
      });
      assert.deepEqual(again.outputs.words_shouted.values, words_shouted.values, transport);
    }
  });

  it('Predict on a chain of both frameworks, as its reference says', async () => {
    const reference = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'reference.json'), 'utf8')).features_to_ranker;
    const [{ inputs, outputs }] = reference.cases;
    const x = { dtype: DataType.DT_FLOAT, shape: inputs.x.shape, data: Float32Array.from(inputs.x.values) };
    for (const [transport, client] of Object.entries(clients())) {
      const { score } = (await client.predict('features_to_ranker', { x })).outputs;
      assert.deepEqual(score.shape, outputs.score.shape, transport);
      [...score.values].forEach((value, i) => assert.ok(Math.abs(Number(value) - outputs.score.values[i]) < 1e-5));
    }
  });

  it('Classify on iris: the labels and scores, the same over both transports', async () => {
    const grpc = await grpcClient.classify('iris', { examples: FLOWERS });
    const rest = await restClient.classify('iris', { examples: FLOWERS });
    const best = grpc.classifications.map((classes) => classes.reduce((a, b) => (b.score > a.score ? b : a)).label);
    assert.deepEqual(best, ['setosa', 'versicolor', 'virginica', 'virginica']);
    assert.deepEqual(grpc.modelSpec, { name: 'iris', version: 1, signatureName: 'serving_default' });
    // REST writes each float32 score in its shortest exact form.
    const restScores = rest.classifications.map((classes) =>
      classes.map(({ label, score }) => [label, Math.fround(score)]),
    );
    assert.deepEqual(
      restScores,
      grpc.classifications.map((classes) => classes.map(({ label, score }) => [label, score])),
    );
  });

  it('Regress on iris (a context shared by every example too) matches Predict on serialized tf.Examples', async () => {
    const spec = { name: 'iris', signatureName: 'petal_width' };
    const grpc = await grpcClient.regress(spec, { examples: FLOWERS });
    const rest = await restClient.regress(spec, { examples: FLOWERS });
    assert.equal(grpc.values.length, FLOWERS.length);
    assert.deepEqual([...rest.values], [...grpc.values]);
    const strings = FLOWERS.map(serializedExample);
    for (const client of Object.values(clients())) {
      const { outputs } = await client.predict(spec, { inputs: { dtype: 'string', shape: [strings.length], strings } });
      assert.deepEqual([...outputs.outputs.values].map(Number), [...grpc.values]);
    }
    const [first, ...others] = FLOWERS;
    for (const client of Object.values(clients())) {
      const withContext = await client.regress(spec, { context: first, examples: others.map(() => ({})) });
      assert.deepEqual(
        [...withContext.values],
        others.map(() => grpc.values[0]),
      );
    }
  });

  it('GetModelMetadata and GetModelStatus: the same signatures and states over both transports', async () => {
    const grpc = await grpcClient.getModelMetadata('half_plus_two_torch');
    const rest = await restClient.getModelMetadata('half_plus_two_torch');
    assert.deepEqual(grpc.modelSpec, { name: 'half_plus_two_torch', version: 1, signatureName: '' });
    assert.deepEqual(rest.modelSpec, { name: 'half_plus_two_torch', version: 1 });
    assert.deepEqual(rest.signatures, grpc.signatures);
    assert.equal(grpc.signatures.get('serving_default')?.inputs.get('x')?.dtype, DataType.DT_FLOAT);
    for (const client of Object.values(clients())) {
      assert.deepEqual(await client.getModelStatus({ name: 'iris', version: 1 }), [
        { version: 1, state: 'AVAILABLE', status: { code: 'OK', message: '' } },
      ]);
    }
  });

  it("answers each error with the server's code and message", async () => {
    for (const [transport, client] of Object.entries(clients())) {
      const missing = await servingErrorOf(client.predict('no_such_model', { x: X }));
      assert.equal(missing.code, 'NOT_FOUND', transport);
      const alias = await servingErrorOf(client.predict('half_plus_two_torch', { z: X }));
      assert.equal(alias.code, 'INVALID_ARGUMENT', transport);
      // Each transport in TF-Serving's own words for it.
      const aliasMessages: Record<string, RegExp> = {
        grpc: /^input tensor alias not found in signature: z\. Inputs expected to be in the set \{x\}/,
        rest: /^Missing named input: x in 'inputs' object\.$/,
      };
      assert.match(alias.message, aliasMessages[transport]);
      const version = await servingErrorOf(client.getModelStatus({ name: 'iris', version: 9 }));
      assert.deepEqual([version.code, version.message], ['NOT_FOUND', 'Could not find version 9 of model iris']);
    }
    // REST's JSON has no dtypes (1 reads as a float); gRPC's TensorProto does.
    const wrongDtype = await servingErrorOf(
      grpcClient.predict('half_plus_two', { x: { dtype: 'int32', shape: [3], data: new Int32Array([1, 2, 5]) } }),
    );
    assert.equal(wrongDtype.code, 'INVALID_ARGUMENT');
    assert.match(wrongDtype.message, /Expects arg\[0\] to be float but int32 is provided/);
    // An unknown signature: TF-Serving's predictor says FAILED_PRECONDITION, its REST JSON reader INVALID_ARGUMENT.
    const grpcSignature = await servingErrorOf(grpcClient.predict({ name: 'iris', signatureName: 'nope' }, { x: X }));
    assert.deepEqual(
      [grpcSignature.code, grpcSignature.message],
      ['FAILED_PRECONDITION', 'Serving signature key "nope" not found.'],
    );
    const restSignature = await servingErrorOf(restClient.predict({ name: 'iris', signatureName: 'nope' }, { x: X }));
    assert.deepEqual(
      [restSignature.code, restSignature.message],
      ['INVALID_ARGUMENT', 'Serving signature name: "nope" not found in signature def'],
    );
    // Nothing listening: UNAVAILABLE, as grpc-js says it.
    const port = await freePort();
    const unreachable = [new GrpcServingClient(`127.0.0.1:${port}`), new RestServingClient(`http://127.0.0.1:${port}`)];
    for (const client of unreachable) {
      assert.equal((await servingErrorOf(client.getModelStatus('iris', { timeoutMs: 5000 }))).code, 'UNAVAILABLE');
    }
    (unreachable[0] as GrpcServingClient).close();
  });

  it('HandleReloadConfigRequest: a new model serves once it resolves; a refused config changes nothing', async () => {
    const another = entry('half_plus_two_torch', 'pytorch');
    await grpcClient.reloadConfig([...MODELS, { ...another, name: 'another' }]);
    assert.deepEqual([...(await restClient.predict('another', { x: X })).outputs.y.values], Y);
    const refused = await servingErrorOf(
      grpcClient.reloadConfig(
        MODELS.map((model) => (model.name === 'iris' ? { ...model, platform: 'pytorch' } : model)),
      ),
    );
    assert.equal(refused.code, 'INVALID_ARGUMENT');
    assert.match(refused.message, /^Illegal to change a model's platform\. For model iris platform was tensorflow/);
    assert.equal((await grpcClient.getModelStatus('another'))[0].state, 'AVAILABLE');
    await grpcClient.reloadConfig(MODELS);
    for (let state = ''; state !== 'END'; await new Promise((resolve) => setTimeout(resolve, 50))) {
      [{ state }] = await grpcClient.getModelStatus('another');
    }
    assert.equal((await servingErrorOf(restClient.predict('another', { x: X }))).code, 'NOT_FOUND');
  });
});
