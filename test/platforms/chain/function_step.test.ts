/**
 * Function steps in chains, with real models and a real worker pool: JavaScript on either side
 * of each framework, strings, pass-through, a step that throws, loops forever, or returns the
 * wrong dtype or shape, modules refused at load, and a new version bringing its own module.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ServingError } from '../../../src/errors/serving_error';
import { loadTensorCodec, type HostTensorOutput, type TensorSource } from '../../../src/native/backend_addon';
import { chainPlatform } from '../../../src/platforms/chain/chain_platform';
import type { LoadedServable } from '../../../src/platforms/platform';
import { predict } from '../../../src/servables/predictor';
import {
  type ChainServer,
  example,
  floatInput,
  floats,
  scratchDir,
  startChainServer,
  writeChain,
} from './chain_server';

/** Writes `files` (name -> text) into `<root>/<chain>/<version>/` beside its chain.pbtxt. */
function writeModules(root: string, chain: string, version: number, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(root, chain, String(version), name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}

/** A function step over one float tensor x -> y of shape [-1]. */
function floatStep(name: string, fn: string, from: string, extra = ''): string {
  return `
step {
  name: "${name}" function: "${fn}" module: "steps.js" ${extra}
  function_input { name: "x" dtype: DT_FLOAT shape: [-1] }
  function_output { name: "y" dtype: DT_FLOAT shape: [-1] }
  inputs { key: "x" value: "${from}" }
}`;
}

const STEPS_JS = `
const map = (x, f) => ({ shape: x.shape, data: x.data.map(f) });
exports.double = ({ x }) => ({ y: map(x, (v) => v * 2) });
exports.negate = async ({ x }) => ({ y: map(x, (v) => -v) });
exports.addOne = ({ x }) => ({ y: map(x, (v) => v + 1) });
exports.same = ({ x }) => ({ y: x });
exports.boom = () => { throw new Error('no rows to rank'); };
exports.spin = ({ x }) => { if (x.data[0] < 0) for (;;) {} return { y: x }; };
exports.asDouble = ({ x }) => ({ y: { shape: x.shape, data: Float64Array.from(x.data) } });
exports.badShape = ({ x }) => ({ y: { shape: [x.shape[0], 1], data: x.data.slice() } });
exports.tooFew = ({ x }) => ({ y: { shape: x.shape, data: new Float32Array(1) } });
exports.forgets = () => ({ z: 1 });
`;

// JavaScript, then TensorFlow, JavaScript, PyTorch, JavaScript: a step on each side of each framework.
const AROUND_BOTH = `
input { name: "x" }
${floatStep('double', 'double', 'request:x')}
step { name: "tf" model: "half_plus_two" inputs { key: "x" value: "double:y" } }
${floatStep('negate', 'negate', 'tf:y')}
step { name: "torch" model: "half_plus_two_torch" inputs { key: "x" value: "negate:y" } }
${floatStep('plus', 'addOne', 'torch:y')}
output { name: "y" source: "plus:y" }
output { name: "tf_y" source: "tf:y" }
`;

/** One chain per function of STEPS_JS: x -> fn -> y. */
const single = (fn: string, extra = '') => `
input { name: "x" }
${floatStep(fn.toLowerCase(), fn, 'request:x', extra)}
output { name: "y" source: "${fn.toLowerCase()}:y" }
`;

const STRINGS = `
input { name: "words" }
step {
  name: "shout" function: "shout" module: "lib/strings.mjs"
  function_input { name: "words" dtype: DT_STRING shape: [-1] }
  function_output { name: "upper" dtype: DT_STRING shape: [-1] }
  function_output { name: "lengths" dtype: DT_INT64 shape: [-1] }
  function_output { name: "same" dtype: DT_STRING shape: [-1] }
  inputs { key: "words" value: "request:words" }
}
output { name: "upper" source: "shout:upper" }
output { name: "lengths" source: "shout:lengths" }
output { name: "same" source: "shout:same" }
`;

const STRINGS_MJS = `
export async function shout({ words }) {
  return {
    upper: { shape: words.shape, strings: words.strings.map((w) => Buffer.from(w.toString('utf8').toUpperCase())) },
    lengths: { dtype: 'DT_INT64', shape: words.shape, data: BigInt64Array.from(words.strings, (w) => BigInt(w.length)) },
    same: words,
  };
}
`;

const FUNCTIONS = ['double', 'same', 'boom', 'spin', 'asDouble', 'badShape', 'tooFew', 'forgets'];

describe('function steps', () => {
  let server: ChainServer;
  const scratch = scratchDir();

  before(async () => {
    const chains = [
      writeChain(scratch, 'around_both', { 1: AROUND_BOTH }),
      writeChain(scratch, 'strings', { 1: STRINGS }),
      ...FUNCTIONS.map((fn) =>
        writeChain(scratch, fn.toLowerCase(), { 1: single(fn, fn === 'spin' ? 'time_limit_ms: 300' : '') }),
      ),
    ];
    for (const chain of chains) writeModules(scratch, chain.name, 1, { 'steps.js': STEPS_JS });
    writeModules(scratch, 'strings', 1, { 'lib/strings.mjs': STRINGS_MJS });
    server = await startChainServer(
      [example('half_plus_two', 'tensorflow'), example('half_plus_two_torch', 'pytorch'), ...chains],
      { scratch: [scratch] },
    );
    for (const chain of chains) await server.waitAvailable(chain.name);
  });
  after(() => server.stop());

  const x = floatInput([1, -2, 0.5], [3]);

  it('run on either side of TensorFlow and PyTorch models, with the numbers of each step', async () => {
    const outputs = await server.run('around_both', { inputs: new Map([['x', x]]) });
    // double: 2x; half_plus_two: x + 2; negate: -(x + 2); half_plus_two_torch: -(x + 2)/2 + 2; +1.
    assert.deepEqual([...floats(outputs.get('tf_y'))], [3, 0, 2.5]);
    assert.deepEqual([...floats(outputs.get('y'))], [1.5, 3, 1.75]);
    const y = outputs.get('y') as HostTensorOutput;
    assert.deepEqual([y.dtype, y.shape], [1, [3]]);
  });

  it('answer in the encoding asked for, from a function output', async () => {
    const [bytes] = (await server.run('double', { inputs: new Map([['x', x]]), encoding: 'content' })).values();
    assert.ok(bytes instanceof Uint8Array);
    const decoded = await loadTensorCodec().decode(bytes);
    assert.deepEqual([...new Float32Array(decoded.data!)], [2, -4, 1]);
  });

  it('take strings as Buffers and return strings, int64 and an input passed through', async () => {
    const words: TensorSource = { dtype: 7, shape: [2], strings: [Buffer.from('top'), Buffer.from('ké')] };
    const outputs = await server.run('strings', { inputs: new Map([['words', words]]) });
    const strings = (alias: string) => (outputs.get(alias) as HostTensorOutput).strings!.map(String);
    assert.deepEqual(strings('upper'), ['TOP', 'KÉ']);
    assert.deepEqual(strings('same'), ['top', 'ké']);
    const lengths = outputs.get('lengths') as HostTensorOutput;
    assert.deepEqual([lengths.dtype, [...new BigInt64Array(lengths.data!)]], [9, [3n, 3n]]);
  });

  it('pass an input through without a copy: the output is the request tensor itself', async () => {
    const codec = loadTensorCodec();
    const input = await codec.decode(x);
    const before = codec.copyStats().copies;
    const outputs = await server.run('same', { inputs: new Map([['x', input.handle]]) });
    // The worker gets a JavaScript copy of the input; nothing native is copied to answer it
    // (a new output would be copied once into a native tensor).
    assert.equal(codec.copyStats().copies - before, 0);
    const y = outputs.get('y') as HostTensorOutput;
    assert.deepEqual([...new Float32Array(y.data!)], [1, -2, 0.5]);
  });

  async function failure(chain: string, input = x): Promise<ServingError> {
    try {
      await server.run(chain, { inputs: new Map([['x', input]]) });
    } catch (error) {
      assert.ok(error instanceof ServingError, String(error));
      return error;
    }
    throw new assert.AssertionError({ message: `expected ${chain} to fail` });
  }

  it('a step that throws fails the request with INVALID_ARGUMENT naming the step', async () => {
    const error = await failure('boom');
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal(error.message, "step 'boom' (function boom in steps.js): threw: no rows to rank");
  });

  it('a step that loops forever is stopped at its time limit, and its pool serves on', async () => {
    const started = Date.now();
    const error = await failure('spin', floatInput([-1], [1]));
    assert.equal(error.code, 'DEADLINE_EXCEEDED');
    assert.equal(
      error.message,
      "step 'spin' (function spin in steps.js): its call ran past the time limit of 300 ms; its worker thread was stopped",
    );
    assert.ok(Date.now() - started < 3000);
    // Both threads of the pool looping at once, then the pool is asked again.
    const both = await Promise.allSettled([
      failure('spin', floatInput([-1], [1])),
      failure('spin', floatInput([-1], [1])),
    ]);
    assert.deepEqual(
      both.map((result) => result.status === 'fulfilled' && result.value.code),
      ['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED'],
    );
    const outputs = await server.run('spin', { inputs: new Map([['x', floatInput([4], [1])]]) });
    assert.deepEqual([...floats(outputs.get('y'))], [4]);
  });

  it("the request's deadline bounds a call too", async () => {
    const deadlineUs = process.hrtime.bigint() / 1000n + 150_000n;
    try {
      await server.run('spin', { inputs: new Map([['x', floatInput([-1], [1])]]), deadlineUs: Number(deadlineUs) });
      assert.fail('expected DEADLINE_EXCEEDED');
    } catch (error) {
      assert.equal((error as ServingError).code, 'DEADLINE_EXCEEDED');
      assert.match((error as ServingError).message, /^step 'spin' .*: the request deadline passed during its call/);
    }
  });

  it('an output of the wrong dtype, shape or size, or a missing one, is INVALID_ARGUMENT naming the step', async () => {
    const cases: Array<[string, string]> = [
      ['asDouble', "output 'y' is no DT_FLOAT tensor: its data must be a Float32Array, not Float64Array"],
      ['badShape', "output 'y' has shape [3,1] but the step declares [-1] (-1: any size)"],
      ['tooFew', "output 'y' has 1 values but shape [3]"],
      ['forgets', "returned no output 'y'"],
    ];
    for (const [fn, message] of cases) {
      const error = await failure(fn.toLowerCase());
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.equal(error.message, `step '${fn.toLowerCase()}' (function ${fn} in steps.js): ${message}`);
    }
  });

  describe('at load', () => {
    /** Loads a version holding `text` and `files`; what refused it. */
    async function refusal(text: string, files: Record<string, string>): Promise<ServingError> {
      const name = `r${Math.random().toString(36).slice(2)}`;
      writeChain(scratch, name, { 1: text });
      writeModules(scratch, name, 1, files);
      const platform = chainPlatform(server.manager, { modelWait: { timeoutMs: 300, pollMs: 20 } });
      let loaded: LoadedServable | undefined;
      try {
        loaded = await platform.load(path.join(scratch, name, '1'));
      } catch (error) {
        assert.ok(error instanceof ServingError);
        return error;
      } finally {
        loaded?.unload();
      }
      throw new assert.AssertionError({ message: 'expected the chain to be refused' });
    }
    const prefix = (name: string) =>
      `${path.join(scratch, name)}/1/chain.pbtxt: step 'double' (function double in steps.js): `;
    const chainOf = (error: ServingError) => error.message.split('/').at(-3)!;

    it('refuses a missing module, a syntax error, a missing export and a throwing top level', async () => {
      const missing = await refusal(single('double'), {});
      assert.equal(missing.code, 'INVALID_ARGUMENT');
      const dir = (error: ServingError) => path.join(scratch, chainOf(error), '1');
      assert.equal(missing.message, `${prefix(chainOf(missing))}module ${dir(missing)}/steps.js not found`);

      const syntax = await refusal(single('double'), { 'steps.js': 'exports.double = (x) => {' });
      assert.match(
        syntax.message,
        new RegExp(`^${escape(prefix(chainOf(syntax)))}cannot load ${escape(dir(syntax))}/steps.js: `),
      );
      assert.match(syntax.message, /SyntaxError|Unexpected end of input/);

      const noExport = await refusal(single('double'), { 'steps.js': 'exports.triple = () => ({});' });
      assert.equal(
        noExport.message,
        `${prefix(chainOf(noExport))}cannot load ${dir(noExport)}/steps.js: exports no function 'double' (it exports: triple)`,
      );

      const throws = await refusal(single('double'), { 'steps.js': "throw new Error('no config');" });
      assert.equal(throws.message, `${prefix(chainOf(throws))}cannot load ${dir(throws)}/steps.js: no config`);
    });

    it("refuses declarations that do not fit the neighbouring steps' signatures", async () => {
      // An int32 output feeding half_plus_two's float input.
      const text = `
input { name: "x" }
step {
  name: "ids" function: "ids" module: "steps.js"
  function_input { name: "x" dtype: DT_FLOAT shape: [-1] }
  function_output { name: "y" dtype: DT_INT32 shape: [-1] }
  inputs { key: "x" value: "request:x" }
}
step { name: "tf" model: "half_plus_two" inputs { key: "x" value: "ids:y" } }
output { name: "y" source: "tf:y" }
`;
      const error = await refusal(text, { 'steps.js': STEPS_JS });
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.match(
        error.message,
        /chain\.pbtxt: step 'tf' \(model half_plus_two\): input 'x' is DT_FLOAT \[-1\] but 'ids:y' is DT_INT32 \[-1\]: dtypes differ$/,
      );
      // A model output feeding a function input of another rank.
      const rank = `
input { name: "x" }
step { name: "tf" model: "half_plus_two" inputs { key: "x" value: "request:x" } }
step {
  name: "double" function: "double" module: "steps.js"
  function_input { name: "x" dtype: DT_FLOAT shape: [-1, 2] }
  function_output { name: "y" dtype: DT_FLOAT shape: [-1] }
  inputs { key: "x" value: "tf:y" }
}
output { name: "y" source: "double:y" }
`;
      const ranks = await refusal(rank, { 'steps.js': STEPS_JS });
      assert.match(
        ranks.message,
        /step 'double' \(function double in steps\.js\): input 'x' is DT_FLOAT \[-1,2\] but 'tf:y' is DT_FLOAT \[-1\]: ranks differ$/,
      );
      // An unmapped declared input.
      const unmapped = await refusal(single('double').replace('inputs { key: "x"', 'inputs { key: "w"'), {
        'steps.js': STEPS_JS,
      });
      assert.match(
        unmapped.message,
        /step 'double' \(function double in steps\.js\): input 'x' of its declaration is not mapped$/,
      );
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('function steps and versions', () => {
  it('a new version brings its own module; the old version keeps its own until it unloads', async () => {
    const scratch = scratchDir();
    const module = (add: number) =>
      `exports.add = ({ x }) => ({ y: { shape: x.shape, data: x.data.map((v) => v + ${add}) } });`;
    const text = `
input { name: "x" }
step {
  name: "add" function: "add" module: "steps.js"
  function_input { name: "x" dtype: DT_FLOAT shape: [-1] }
  function_output { name: "y" dtype: DT_FLOAT shape: [-1] }
  inputs { key: "x" value: "request:x" }
}
output { name: "y" source: "add:y" }
`;
    const chain = writeChain(scratch, 'adder', { 1: text }, { versionPolicy: 'all {}' });
    writeModules(scratch, 'adder', 1, { 'steps.js': module(1) });
    const server = await startChainServer([chain], { scratch: [scratch], pollWaitSeconds: 0.2 });
    // The file-system polls do not keep the process alive; this test waits on nothing else.
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await server.waitAvailable('adder', 1);
      const runVersion = async (version: number) => {
        const handle = server.manager.getServableHandle<LoadedServable>({ name: 'adder', version });
        try {
          const outputs = await predict(handle.servable, {
            signatureName: '',
            outputFilter: [],
            encoding: 'host',
            inputs: new Map([['x', floatInput([1], [1])]]),
          });
          return floats(outputs.get('y'))[0];
        } finally {
          handle.release();
        }
      };
      assert.equal(await runVersion(1), 2);
      // Version 2: the same file name, other code, published complete (renamed into place).
      const staging = path.join(scratch, 'staging');
      fs.mkdirSync(staging);
      fs.writeFileSync(path.join(staging, 'chain.pbtxt'), text);
      fs.writeFileSync(path.join(staging, 'steps.js'), module(100));
      fs.renameSync(staging, path.join(scratch, 'adder', '2'));
      await server.waitAvailable('adder', 2);
      assert.equal(await runVersion(2), 101);
      assert.equal(await runVersion(1), 2);
    } finally {
      clearInterval(keepAlive);
      await server.stop();
    }
  });
});
