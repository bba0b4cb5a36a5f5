/**
 * The `duoserve` package used in-process, imported by name only (package_entry.ts): ModelHost
 * loads real TensorFlow, TorchScript, AOTInductor and TFLite exports and a chain of both
 * frameworks, and answers with the server's tensors, errors and lifecycle states.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelEntry, ModelHost } from '../../src/index';
import { REPO_ROOT, requireDuoserve } from './package_entry';

const { duoserve, project, resolve, cleanUp } = requireDuoserve();
const { DataType, ServingError } = duoserve;

const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');
const TFLITE = path.join(REPO_ROOT, 'var', 'models', 'test', 'tflite', 'half_plus_two');
const X = { dtype: 'float', shape: [3], data: new Float32Array([1, 2, 5]) };
const Y = [2.5, 3, 4.5];

const example = (name: string, platform?: string): ModelEntry => ({
  name,
  basePath: path.join(EXAMPLES, name),
  platform,
});

// A chain with TypeScript glue: a function step (JavaScript shipped in the version) before a model.
const CHAINS = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-host-chains-'));
const GLUE = path.join(CHAINS, 'glued');
fs.mkdirSync(path.join(GLUE, '1'), { recursive: true });
fs.writeFileSync(
  path.join(GLUE, '1', 'steps.js'),
  "exports.double = ({ x }) => { if (x.data[0] < 0) throw new Error('negative'); return { y: { shape: x.shape, data: x.data.map((v) => v * 2) } }; };",
);
fs.writeFileSync(
  path.join(GLUE, '1', 'chain.pbtxt'),
  `input { name: "x" }
step {
  name: "double" function: "double" module: "steps.js"
  function_input { name: "x" dtype: DT_FLOAT shape: [-1] }
  function_output { name: "y" dtype: DT_FLOAT shape: [-1] }
  inputs { key: "x" value: "request:x" }
}
step { name: "tf" model: "half_plus_two" inputs { key: "x" value: "double:y" } }
output { name: "y" source: "tf:y" }
`,
);

const MODELS: ModelEntry[] = [
  example('half_plus_two', 'tensorflow'),
  // A relative base path is the working directory's; the platform is found from the files.
  { name: 'half_plus_two_torch', basePath: path.relative(process.cwd(), path.join(EXAMPLES, 'half_plus_two_torch')) },
  example('half_plus_two_pt2', 'pytorch'),
  { name: 'half_plus_two_tflite', basePath: TFLITE, platform: 'tensorflow' },
  example('features', 'tensorflow'),
  example('ranker', 'pytorch'),
  example('features_to_ranker', 'chain'),
  example('iris', 'tensorflow'),
  { name: 'glued', basePath: GLUE, platform: 'chain' },
];

const FLOWERS = [
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

/** The code a ServingError of the package's own class carries; fails on anything else. */
async function servingErrorOf(work: Promise<unknown> | (() => unknown)): Promise<InstanceType<typeof ServingError>> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    assert.ok(error instanceof ServingError, `not a ServingError: ${String(error)}`);
    return error;
  }
  assert.fail('expected a ServingError');
}

after(() => {
  cleanUp();
  fs.rmSync(CHAINS, { recursive: true, force: true });
});

describe('the duoserve package entry', () => {
  it('resolves through package.json exports, with declarations, and exports nothing else', () => {
    assert.equal(resolve('duoserve'), path.join(REPO_ROOT, 'dist', 'src', 'index.js'));
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.ok(fs.existsSync(path.join(REPO_ROOT, manifest.types)), manifest.types);
    assert.throws(() => resolve('duoserve/dist/src/main.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
    for (const name of ['ModelHost', 'GrpcServingClient', 'RestServingClient', 'ServingError', 'DataType']) {
      assert.ok(name in duoserve, name);
    }
  });
});

/** A TypeScript dependent of the package: what it may use type-checks, what it may not does not. */
const DEPENDENT_TS = `
import { ModelHost, ServingError, type OutputTensor, type StatusCodeName, type TensorValues } from 'duoserve';
// @ts-expect-error: only the package entry is exported
import type {} from 'duoserve/dist/src/main';

export async function run(): Promise<number> {
  const host = await ModelHost.start({ models: [{ name: 'm', basePath: '/models/m' }] });
  const out: Record<string, OutputTensor> = await host.predict('m', {
    x: { dtype: 'float', shape: [1], data: new Float32Array(1) },
  });
  const values: TensorValues = out.y.values;
  // @ts-expect-error: an input is a tensor, not a number
  await host.predict('m', { x: 3 });
  const code: StatusCodeName = new ServingError('NOT_FOUND', 'gone').code;
  await host.close();
  return values.length + code.length;
}
`;

describe('the declarations', () => {
  it('type-check a TypeScript dependent through the exports map', () => {
    fs.writeFileSync(path.join(project, 'dependent.ts'), DEPENDENT_TS);
    const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'node16', '--moduleResolution', 'node16'];
    const typeRoots = path.join(REPO_ROOT, 'node_modules', '@types');
    try {
      execFileSync(process.execPath, [tsc, ...args, '--types', 'node', '--typeRoots', typeRoots, 'dependent.ts'], {
        cwd: project,
        encoding: 'utf8',
      });
    } catch (error) {
      assert.fail(`tsc failed:\n${(error as { stdout?: string }).stdout}`);
    }
  });
});

describe('ModelHost', () => {
  let host: ModelHost;
  before(async () => {
    host = await duoserve.ModelHost.start({ models: MODELS, preferTfLiteModel: true });
  });
  after(() => host?.close());

  for (const name of ['half_plus_two', 'half_plus_two_torch', 'half_plus_two_pt2', 'half_plus_two_tflite']) {
    it(`runs ${name} in-process: typed arrays in and out`, async () => {
      const { y } = await host.predict(name, { x: X });
      assert.equal(y.dtype, DataType.DT_FLOAT);
      assert.deepEqual(y.shape, [3]);
      assert.ok(y.values instanceof Float32Array);
      assert.deepEqual([...y.values], Y);
    });
  }

  it('resolves each platform as the server does', () => {
    const platforms = Object.fromEntries(host.config.models.map((model) => [model.name, model.platform]));
    assert.equal(platforms.half_plus_two_torch, 'pytorch');
    assert.equal(platforms.features_to_ranker, 'chain');
  });

  it('takes dtypes by DataType number too, and a version and signature in the spec', async () => {
    const { y } = await host.predict(
      { name: 'half_plus_two', version: 1, signatureName: 'serving_default' },
      { x: { ...X, dtype: DataType.DT_FLOAT } },
    );
    assert.deepEqual([...y.values], Y);
  });

  it('feeds an output of one framework, as it is, to a model of the other', async () => {
    const { y } = await host.predict('half_plus_two', { x: X });
    const { y: again } = await host.predict('half_plus_two_torch', { x: y.handle });
    assert.deepEqual([...again.values], [3.25, 3.5, 4.25]);
  });

  it('runs a chain of both frameworks, as its reference says', async () => {
    const reference = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'reference.json'), 'utf8')).features_to_ranker;
    for (const { inputs, outputs } of reference.cases) {
      const { score } = await host.predict('features_to_ranker', {
        x: { dtype: 'float', shape: inputs.x.shape, data: Float32Array.from(inputs.x.values) },
      });
      assert.deepEqual(score.shape, outputs.score.shape);
      [...score.values].forEach((value, i) => assert.ok(Math.abs(Number(value) - outputs.score.values[i]) < 1e-5));
    }
  });

  it('runs a chain whose TypeScript step runs before a model; a step that throws fails the request', async () => {
    const { y } = await host.predict('glued', { x: X });
    assert.deepEqual([...y.values], [3, 4, 7]);
    const thrown = await servingErrorOf(
      host.predict('glued', { x: { dtype: 'float', shape: [1], data: new Float32Array([-1]) } }),
    );
    assert.equal(thrown.code, 'INVALID_ARGUMENT');
    assert.match(thrown.message, /double/);
  });

  it('classifies and regresses tf.Examples on iris', async () => {
    const { classifications, modelSpec } = await host.classify('iris', { examples: FLOWERS });
    const best = classifications.map((classes) => classes.reduce((a, b) => (b.score > a.score ? b : a)).label);
    assert.deepEqual(best, ['setosa', 'versicolor', 'virginica', 'virginica']);
    assert.deepEqual(modelSpec, { name: 'iris', version: 1, signatureName: 'serving_default' });
    const spec = { name: 'iris', signatureName: 'petal_width' };
    const { values } = await host.regress(spec, { examples: FLOWERS });
    assert.ok(values instanceof Float32Array && values.length === FLOWERS.length);
    const withContext = await host.regress(spec, { context: FLOWERS[1], examples: [{}, { petal_width: [0.2] }] });
    assert.equal(withContext.values[0], values[1]);
    const noSignature = await servingErrorOf(
      host.classify({ name: 'iris', signatureName: 'nope' }, { examples: FLOWERS }),
    );
    assert.deepEqual(
      [noSignature.code, noSignature.message],
      ['INVALID_ARGUMENT', 'No signature was found with the name: nope'],
    );
  });

  it('answers with the errors the server answers with', async () => {
    assert.equal((await servingErrorOf(host.predict('no_such_model', { x: X }))).code, 'NOT_FOUND');
    const wrongDtype = await servingErrorOf(
      host.predict('half_plus_two', { x: { dtype: 'int32', shape: [3], data: new Int32Array([1, 2, 5]) } }),
    );
    assert.equal(wrongDtype.code, 'INVALID_ARGUMENT');
    assert.match(wrongDtype.message, /Expects arg\[0\] to be float but int32 is provided/);
    const signature = await servingErrorOf(host.predict('half_plus_two', { x: X }, { signatureName: 'nope' }));
    assert.equal(signature.code, 'FAILED_PRECONDITION');
    assert.equal(signature.message, 'Serving signature key "nope" not found.');
    const dtypeName = await servingErrorOf(host.predict('half_plus_two', { x: { ...X, dtype: 'float32' } }));
    assert.deepEqual([dtypeName.code, dtypeName.message], ['INVALID_ARGUMENT', 'input x: unknown dtype "float32"']);
    const alias = await servingErrorOf(host.predict('half_plus_two_torch', { z: X }));
    assert.equal(alias.code, 'INVALID_ARGUMENT');
  });

  it("reports a version's signatures and states", async () => {
    const metadata = await host.metadata('half_plus_two_torch');
    assert.deepEqual([metadata.name, metadata.version], ['half_plus_two_torch', 1]);
    const signature = metadata.signatures.get('serving_default');
    assert.equal(signature?.inputs.get('x')?.dtype, DataType.DT_FLOAT);
    assert.deepEqual(
      host.status('features_to_ranker').map(({ id, state }) => [id.version, state]),
      [[1, 'AVAILABLE']],
    );
    assert.equal((await servingErrorOf(() => host.status({ name: 'half_plus_two', version: 7 }))).code, 'NOT_FOUND');
  });

  it('reloads its models: new ones load before it resolves, removed ones unload', async () => {
    await host.reload([...MODELS, { name: 'another', basePath: path.join(EXAMPLES, 'half_plus_two_torch') }]);
    assert.deepEqual([...(await host.predict('another', { x: X })).y.values], Y);
    await host.reload(MODELS);
    for (;;) {
      const [{ state }] = host.status('another');
      if (state === 'END') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal((await servingErrorOf(host.predict('another', { x: X }))).code, 'NOT_FOUND');
    const refused = await servingErrorOf(host.reload([{ name: 'half_plus_two', basePath: '/x', platform: 'pytorch' }]));
    assert.equal(refused.code, 'INVALID_ARGUMENT');
  });
});

describe('ModelHost.start', () => {
  it('rejects with the load error when a model cannot load, as the server fails to start', async () => {
    const basePath = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-broken-'));
    fs.mkdirSync(path.join(basePath, '1'));
    fs.writeFileSync(path.join(basePath, '1', 'model.pt'), 'this is not a model');
    try {
      const error = await servingErrorOf(
        duoserve.ModelHost.start({ models: [{ name: 'broken', basePath, platform: 'pytorch' }], maxNumLoadRetries: 0 }),
      );
      assert.equal(error.code, 'UNKNOWN');
      assert.match(
        error.message,
        /^1 servable\(s\) did not become available: \{\{\{name: broken version: 1\} due to error: INVALID_ARGUMENT/,
      );
    } finally {
      fs.rmSync(basePath, { recursive: true, force: true });
    }
  });
});
