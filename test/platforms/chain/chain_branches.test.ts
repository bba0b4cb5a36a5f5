/**
 * Branches and early exit in chains of real TensorFlow and PyTorch models: a step runs only
 * `when` its condition holds, steps after a skipped step are skipped, outputs fall back or
 * are absent, an exit ends the chain with the outputs it has; conditions that cannot hold
 * and chains that would call themselves are refused at load.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServingError } from '../../../src/errors/serving_error';
import type { HostTensorOutput, TensorSource } from '../../../src/native/backend_addon';
import { chainPlatform } from '../../../src/platforms/chain/chain_platform';
import {
  type ChainServer,
  example,
  floatInput,
  floats,
  scratchDir,
  type ServedModel,
  startChainServer,
  tensorFlowFixture,
  writeChain,
} from './chain_server';
import { REPO_ROOT } from '../tensorflow/fixtures';

// gate: y = x/2 + 2. "big" runs when some y > 3, "small" when every y <= 3.
const BRANCH = `
input { name: "x" }
step { name: "gate" model: "half_plus_two" inputs { key: "x" value: "request:x" } }
step {
  name: "big" model: "half_plus_two_torch" inputs { key: "x" value: "gate:y" }
  when { source: "gate:y" op: GREATER number: 3 values: ANY }
}
step { name: "after_big" model: "half_plus_two" inputs { key: "x" value: "big:y" } }
step {
  name: "small" model: "half_plus_two_torch" inputs { key: "x" value: "request:x" }
  when { source: "gate:y" op: LESS_EQUAL number: 3 values: ALL }
}
output { name: "big" source: "after_big:y" }
output { name: "small" source: "small:y" fallback: "gate:y" }
output { name: "gate" source: "gate:y" }
`;

// The chain ends after "first" when some of its values are below 2; "side" does not depend on
// "first" but waits for the exit all the same.
const EXIT = `
input { name: "x" }
step { name: "first" model: "half_plus_two" inputs { key: "x" value: "request:x" } }
exit { when { source: "first:y" op: LESS number: 2 values: ANY } }
step { name: "second" model: "half_plus_two_torch" inputs { key: "x" value: "first:y" } }
step { name: "side" model: "half_plus_two_torch" inputs { key: "x" value: "request:x" } }
output { name: "y" source: "second:y" fallback: "first:y" }
output { name: "side" source: "side:y" }
output { name: "first" source: "first:y" }
`;

/** The example of proto/duoserve/chain.proto's comment, as written there. */
function documentedExample(): string {
  const proto = fs.readFileSync(path.join(REPO_ROOT, 'proto', 'duoserve', 'chain.proto'), 'utf8');
  const comment = proto.slice(
    proto.indexOf('// Branches and early exit'),
    proto.indexOf('// What a step that did not run'),
  );
  return comment
    .split('\n')
    .filter((line) => line.startsWith('//   '))
    .map((line) => line.slice(5))
    .join('\n');
}

// Conditions on int64, string and (request) bool tensors of many_dtypes.
const TYPED_INPUTS = ['ids', 'flags', 'halves', 'words'];
const again = (name: string, when: string) => `
step {
  name: "${name}" model: "many_dtypes"
  inputs { key: "ids" value: "typed:ids_tripled" } inputs { key: "flags" value: "typed:flags_negated" }
  inputs { key: "halves" value: "typed:halves_doubled" } inputs { key: "words" value: "typed:words_shouted" }
  when { ${when} }
}
output { name: "${name}" source: "${name}:words_shouted" }`;
const TYPED = `
${TYPED_INPUTS.map((input) => `input { name: "${input}" }`).join(' ')}
step { name: "typed" model: "many_dtypes" ${TYPED_INPUTS.map((i) => `inputs { key: "${i}" value: "request:${i}" }`).join(' ')} }
${again('go', 'source: "typed:words_shouted" op: EQUAL text: "GO!" values: ANY')}
${again('big', 'source: "typed:ids_tripled" op: GREATER_EQUAL number: 30 values: ALL')}
${again('flag', 'source: "request:flags" op: NOT_EQUAL number: 0 values: ANY')}
`;

// A function step's output (a JavaScript tensor, no native handle) read by a condition: "tf"
// runs for batches of two rows or more.
const FUNCTION_GATE = `
input { name: "x" }
step {
  name: "count" function: "count" module: "steps.js"
  function_input { name: "x" dtype: DT_FLOAT shape: [-1] }
  function_output { name: "n" dtype: DT_INT32 shape: [] }
  inputs { key: "x" value: "request:x" }
}
step {
  name: "tf" model: "half_plus_two" inputs { key: "x" value: "request:x" }
  when { source: "count:n" op: GREATER_EQUAL number: 2 }
}
output { name: "y" source: "tf:y" }
`;
const COUNT_JS = 'exports.count = ({ x }) => ({ n: { shape: [], data: Int32Array.of(x.shape[0]) } });\n';

function typedInputs(ids: number[], words: string[], flags: boolean[]): Map<string, TensorSource> {
  const n = ids.length;
  return new Map<string, TensorSource>([
    ['ids', { dtype: 9, shape: [n], data: BigInt64Array.from(ids.map(BigInt)) }],
    ['flags', { dtype: 10, shape: [n], data: Uint8Array.from(flags.map(Number)) }],
    ['halves', { dtype: 19, shape: [n], data: new Uint16Array(n) }],
    ['words', { dtype: 7, shape: [n], strings: words.map((word) => Buffer.from(word)) }],
  ]);
}

function withFile(chain: ServedModel, file: string, text: string): ServedModel {
  fs.writeFileSync(path.join(chain.basePath, file), text);
  return chain;
}

const strings = (output: unknown) => ((output as HostTensorOutput).strings ?? []).map(String);

describe('chain branches and early exit', () => {
  let server: ChainServer;
  const scratch = scratchDir();

  before(async () => {
    server = await startChainServer(
      [
        example('half_plus_two', 'tensorflow'),
        example('half_plus_two_torch', 'pytorch'),
        tensorFlowFixture('many_dtypes'),
        tensorFlowFixture('two_signatures'),
        writeChain(scratch, 'branch', { 1: BRANCH }),
        writeChain(scratch, 'exit', { 1: EXIT }),
        writeChain(scratch, 'typed', { 1: TYPED }),
        writeChain(scratch, 'documented', { 1: documentedExample() }),
        withFile(writeChain(scratch, 'function_gate', { 1: FUNCTION_GATE }), '1/steps.js', COUNT_JS),
      ],
      { scratch: [scratch] },
    );
    await Promise.all(
      ['branch', 'exit', 'typed', 'documented', 'function_gate'].map((name) => server.waitAvailable(name)),
    );
  });
  after(() => server.stop());

  async function run(chain: string, inputs: Map<string, TensorSource>, outputFilter: string[] = []) {
    const timings = new Map<string, number>();
    const outputs = await server.run(chain, { inputs, timings, outputFilter });
    return { outputs, ran: [...timings.keys()].sort() };
  }
  const x = (values: number[]) => new Map([['x', floatInput(values, [values.length])]]);

  it('runs a step when its condition holds, and skips it and the steps after it when not', async () => {
    const low = await run('branch', x([0]));
    assert.deepEqual(low.ran, ['gate', 'small']);
    assert.deepEqual([...low.outputs.keys()].sort(), ['gate', 'small']); // "big" is absent
    assert.deepEqual([...floats(low.outputs.get('small'))], [2]);

    const high = await run('branch', x([4]));
    assert.deepEqual(high.ran, ['after_big', 'big', 'gate']);
    assert.deepEqual([...floats(high.outputs.get('big'))], [4]); // ((4/2+2)/2+2)/2+2
    // "small" did not run: its fallback, gate:y, answers.
    assert.deepEqual([...floats(high.outputs.get('small'))], [4]);
  });

  it('reduces per-row values to one answer: ANY runs the whole batch, ALL needs every row', async () => {
    const mixed = await run('branch', x([0, 4]));
    assert.deepEqual(mixed.ran, ['after_big', 'big', 'gate']);
    assert.deepEqual([...floats(mixed.outputs.get('big'))], [3.5, 4]); // both rows, though only one is > 3
    assert.deepEqual([...floats(mixed.outputs.get('small'))], [2, 4]); // the fallback
    // No rows: ANY holds for none, ALL for all.
    const empty = await run('branch', x([]));
    assert.deepEqual(empty.ran, ['gate', 'small']);
    assert.deepEqual((empty.outputs.get('small') as HostTensorOutput).shape, [0]);
  });

  it('answers an output filter with the outputs that were produced', async () => {
    const { outputs, ran } = await run('branch', x([0]), ['big', 'gate']);
    assert.deepEqual(ran, ['gate']);
    assert.deepEqual([...outputs.keys()], ['gate']);
  });

  it('exits early with the outputs it has, and starts no step that waits for the exit', async () => {
    const on = await run('exit', x([1]));
    assert.deepEqual(on.ran, ['first', 'second', 'side']);
    assert.deepEqual([...floats(on.outputs.get('y'))], [3.25]);
    assert.deepEqual([...floats(on.outputs.get('side'))], [2.5]);

    const exited = await run('exit', x([-1, 1]));
    assert.deepEqual(exited.ran, ['first']);
    assert.deepEqual([...exited.outputs.keys()].sort(), ['first', 'y']);
    assert.deepEqual([...floats(exited.outputs.get('y'))], [1.5, 2.5]); // the fallback, first:y
  });

  it("runs chain.proto's example as documented", async () => {
    const y = async (values: number[]) => {
      const { outputs, ran } = await run('documented', x(values));
      return [ran, [...floats(outputs.get('y'))]];
    };
    assert.deepEqual(await y([4]), [['big', 'gate'], [4]]); // gate:y 4 > 3: big runs
    assert.deepEqual(await y([0]), [['gate'], [2]]); // skipped: the fallback, gate:y
    assert.deepEqual(await y([-6, 4]), [['gate'], [-1, 4]]); // -1 < 0: the exit fires
  });

  it("reads a function step's output", async () => {
    const two = await run('function_gate', x([1, 2]));
    assert.deepEqual(two.ran, ['count', 'tf']);
    assert.deepEqual([...floats(two.outputs.get('y'))], [2.5, 3]);
    const one = await run('function_gate', x([1]));
    assert.deepEqual(one.ran, ['count']);
    assert.deepEqual([...one.outputs.keys()], []);
  });

  it('compares int64, string and bool values, and reads request inputs', async () => {
    const yes = await run('typed', typedInputs([10, 20], ['go', 'stop'], [false, true]));
    assert.deepEqual(yes.ran, ['big', 'flag', 'go', 'typed']);
    assert.deepEqual(strings(yes.outputs.get('go')), ['GO!!', 'STOP!!']);
    const no = await run('typed', typedInputs([10, 1], ['went', 'stop'], [false, false]));
    assert.deepEqual(no.ran, ['typed']);
    assert.deepEqual([...no.outputs.keys()], []);
  });

  it('fails a request whose condition would read more than 1024 values', async () => {
    await assert.rejects(run('branch', x(new Array(1025).fill(0))), (error: ServingError) => {
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.equal(
        error.message,
        "step 'big' (model half_plus_two_torch): condition on 'gate:y' reads at most 1024 values, but the tensor " +
          '[1025] holds 1025',
      );
      return true;
    });
    assert.deepEqual([...floats((await run('branch', x([0]))).outputs.get('small'))], [2]); // still serving
  });

  describe('refused at load', () => {
    async function refusal(text: string): Promise<string> {
      const name = `c${Math.random().toString(36).slice(2)}`;
      const dir = path.dirname(writeChain(scratch, name, { 1: text }).basePath);
      const platform = chainPlatform(server.manager, { modelWait: { timeoutMs: 300, pollMs: 20 } });
      const file = path.join(dir, name, '1', 'chain.pbtxt');
      try {
        await platform.load(path.join(dir, name, '1'));
      } catch (error) {
        assert.equal((error as ServingError).code, 'INVALID_ARGUMENT');
        return (error as ServingError).message.replace(`${file}: `, '');
      }
      throw new assert.AssertionError({ message: 'expected the chain to be refused' });
    }
    const typedWhen = (when: string) => TYPED.replace(/when \{ source: "typed:ids_tripled"[^}]*\}/, `when { ${when} }`);
    const label = "step 'big' (model many_dtypes): ";

    it('a dtype that cannot be compared', async () => {
      assert.equal(
        await refusal(typedWhen('source: "typed:halves_doubled" op: EQUAL number: 1 values: ANY')),
        `${label}condition on 'typed:halves_doubled' (half): half values cannot be compared`,
      );
    });

    it('a constant that does not fit the dtype, or of the wrong kind', async () => {
      assert.equal(
        await refusal(typedWhen('source: "typed:word_lengths" op: EQUAL number: 2.5 values: ANY')),
        `${label}condition on 'typed:word_lengths' (int32): 2.5 does not fit int32 (an integer in [-2147483648, 2147483647])`,
      );
      assert.equal(
        await refusal(typedWhen('source: "typed:flags_negated" op: EQUAL number: 2 values: ANY')),
        `${label}condition on 'typed:flags_negated' (bool): 2 does not fit bool (an integer in [0, 1])`,
      );
      assert.equal(
        await refusal(typedWhen('source: "typed:words_shouted" op: EQUAL number: 1 values: ANY')),
        `${label}condition on 'typed:words_shouted' (string) takes a 'text' constant, not 'number'`,
      );
    });

    it('an ordering of strings', async () => {
      assert.equal(
        await refusal(typedWhen('source: "typed:words_shouted" op: LESS text: "M" values: ANY')),
        `${label}condition on 'typed:words_shouted' (string): string values compare with EQUAL or NOT_EQUAL only, not LESS`,
      );
    });

    it('a single value expected of a tensor whose shape holds more', async () => {
      const text = `
        input { name: "a" } input { name: "b" }
        step { name: "add" model: "two_signatures" signature_name: "add"
               inputs { key: "a" value: "request:a" } inputs { key: "b" value: "request:b" } }
        step { name: "more" model: "half_plus_two" inputs { key: "x" value: "add:sum" }
               when { source: "add:sum" op: GREATER number: 0 } }
        output { name: "y" source: "more:y" }`;
      assert.equal(
        await refusal(text),
        "step 'more' (model half_plus_two): condition on 'add:sum' needs exactly one value (values: SINGLE), but " +
          'its shape [2] holds 2; say values: ANY or ALL',
      );
    });

    it('a condition on an output the step does not have', async () => {
      assert.equal(
        await refusal(BRANCH.replace('source: "gate:y" op: GREATER', 'source: "gate:z" op: GREATER')),
        "step 'big' (model half_plus_two_torch): 'when' reads 'gate:z', but step 'gate' (model half_plus_two) " +
          "signature 'serving_default' has no output 'z' (it has: y)",
      );
    });

    it('a fallback of another dtype than its source', async () => {
      assert.equal(
        await refusal(
          TYPED.replace('source: "go:words_shouted"', 'source: "go:words_shouted" fallback: "typed:ids_tripled"'),
        ),
        "output 'go': fallback 'typed:ids_tripled' is DT_INT64 [-1] but source 'go:words_shouted' is DT_STRING [-1]: dtypes differ",
      );
    });

    it('a chain that calls itself', async () => {
      const name = 'selfie';
      const dir = path.join(
        writeChain(scratch, name, { 1: BRANCH.replace('model: "half_plus_two_torch"', `model: "${name}"`) }).basePath,
        '1',
      );
      const started = Date.now();
      await assert.rejects(chainPlatform(server.manager).load(dir), (error: ServingError) => {
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.equal(
          error.message,
          `${dir}/chain.pbtxt: step 'big' (model selfie): chain selfie would call itself: selfie -> selfie`,
        );
        return true;
      });
      assert.ok(Date.now() - started < 1000, 'refused at once, without waiting for itself');
    });
  });
});

describe('chains that call each other', () => {
  it('fail to load, naming the cycle, without waiting for each other', async () => {
    const scratch = scratchDir();
    const calling = (model: string) => `
      input { name: "x" }
      step { name: "call" model: "${model}" inputs { key: "x" value: "request:x" } }
      output { name: "y" source: "call:y" }`;
    const started = Date.now();
    const server = await startChainServer(
      [
        example('half_plus_two', 'tensorflow'),
        writeChain(scratch, 'ping', { 1: calling('pong') }),
        writeChain(scratch, 'pong', { 1: calling('ping') }),
        writeChain(scratch, 'plain', { 1: calling('half_plus_two') }),
      ],
      { scratch: [scratch], maxNumLoadRetries: 0 },
    );
    try {
      const states = await server.core.manager.monitor.waitUntilServablesReachState(
        [{ name: 'ping' }, { name: 'pong' }],
        'AVAILABLE',
      );
      assert.ok(Date.now() - started < 20_000, 'neither waited for the 30 s model wait');
      for (const state of states) {
        assert.equal(state.state, 'END');
        assert.equal(state.error?.code, 'INVALID_ARGUMENT');
        const cycle = state.id.name === 'ping' ? 'ping -> pong -> ping' : 'pong -> ping -> pong';
        assert.equal(
          state.error?.message,
          `${path.join(scratch, state.id.name, '1', 'chain.pbtxt')}: step 'call' (model ${state.id.name === 'ping' ? 'pong' : 'ping'}): ` +
            `chain ${state.id.name} would call itself: ${cycle}`,
        );
      }
      await server.waitAvailable('plain'); // the other chains load
      assert.deepEqual(
        [...floats((await server.run('plain', { inputs: new Map([['x', floatInput([2], [1])]]) })).get('y'))],
        [3],
      );
    } finally {
      await server.stop();
    }
  });
});
