/**
 * Loading chain versions against real served models: a definition that does not fit its
 * models is refused with the step named, a bad version does not stop the others, and a chain
 * waits for models that are still loading.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServingError } from '../../../src/errors/serving_error';
import { chainPlatform } from '../../../src/platforms/chain/chain_platform';
import {
  type ChainServer,
  example,
  floatInput,
  floats,
  scratchDir,
  startChainServer,
  tensorFlowFixture,
  writeChain,
} from './chain_server';
import { predict } from '../../../src/servables/predictor';

const GOOD = `
input { name: "x" }
step { name: "first" model: "half_plus_two" inputs { key: "x" value: "request:x" } }
step { name: "second" model: "half_plus_two_torch" inputs { key: "x" value: "first:y" } }
output { name: "y" source: "second:y" }
`;

/** GOOD with `from` replaced by `to`. */
const variant = (from: string | RegExp, to: string) => GOOD.replace(from, to);

describe('loading chain versions', () => {
  let server: ChainServer;
  const scratch = scratchDir();

  before(async () => {
    server = await startChainServer(
      [
        example('half_plus_two', 'tensorflow'),
        example('half_plus_two_torch', 'pytorch'),
        tensorFlowFixture('many_dtypes'),
        // Version 2 does not fit its models; version 1 must keep serving.
        writeChain(
          scratch,
          'mixed',
          { 1: GOOD, 2: variant('model: "half_plus_two_torch"', 'model: "many_dtypes"') },
          { versionPolicy: 'all {}' },
        ),
      ],
      { scratch: [scratch] },
    );
    await server.waitAvailable('mixed', 1);
    // Labels go on AVAILABLE versions (as TF-Serving assigns them).
    server.core.manager.setVersionLabels(new Map([['half_plus_two_torch', new Map([['stable', 1]])]]));
  });
  after(() => server.stop());

  /** Loads `text` as a chain version with the served models; the refusal it gets. */
  async function refusal(text: string, name = `c${Math.random().toString(36).slice(2)}`): Promise<ServingError> {
    const dir = path.dirname(writeChain(scratch, name, { 1: text }).basePath);
    const platform = chainPlatform(server.manager, { modelWait: { timeoutMs: 300, pollMs: 20 } });
    try {
      await platform.load(path.join(dir, name, '1'));
    } catch (error) {
      return error as ServingError;
    }
    throw new assert.AssertionError({ message: 'expected the chain to be refused' });
  }

  const file = (name: string) => path.join(scratch, name, '1', 'chain.pbtxt');

  it('refuses an unknown model, naming the step', async () => {
    const error = await refusal(variant('model: "half_plus_two_torch"', 'model: "no_such_model"'), 'unknown_model');
    assert.equal(error.code, 'UNAVAILABLE');
    assert.match(
      error.message,
      new RegExp(
        `^${file('unknown_model')}: step 'second' \\(model no_such_model\\): model no_such_model is unknown \\(not served here\\) after 300 ms`,
      ),
    );
  });

  it('refuses an unknown signature', async () => {
    const error = await refusal(
      variant('model: "half_plus_two_torch"', 'model: "half_plus_two_torch" signature_name: "classify"'),
      'sig',
    );
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal(
      error.message,
      `${file('sig')}: step 'second' (model half_plus_two_torch): signature 'classify' not found (the model has: serving_default)`,
    );
  });

  it('refuses a signature input left unmapped, or an input the signature lacks', async () => {
    const unmapped = await refusal(
      variant('inputs { key: "x" value: "first:y" }', 'inputs { key: "z" value: "first:y" }'),
      'unmapped',
    );
    assert.equal(
      unmapped.message,
      `${file('unmapped')}: step 'second' (model half_plus_two_torch): input 'x' of signature 'serving_default' is not mapped`,
    );
    const extra = await refusal(
      variant(
        'inputs { key: "x" value: "first:y" }',
        'inputs { key: "x" value: "first:y" } inputs { key: "z" value: "first:y" }',
      ),
      'extra',
    );
    assert.equal(
      extra.message,
      `${file('extra')}: step 'second' (model half_plus_two_torch): signature 'serving_default' has no input 'z' (it has: x)`,
    );
  });

  it('refuses an unknown step output', async () => {
    const error = await refusal(variant('first:y', 'first:z'), 'output');
    assert.equal(
      error.message,
      `${file('output')}: step 'second' (model half_plus_two_torch): input 'x' comes from 'first:z', but step 'first' ` +
        `(model half_plus_two) signature 'serving_default' has no output 'z' (it has: y)`,
    );
  });

  it('refuses a dtype conflict between connected signatures', async () => {
    const error = await refusal(
      `input { name: "x" } input { name: "flags" } input { name: "halves" } input { name: "words" }
       step { name: "first" model: "half_plus_two" inputs { key: "x" value: "request:x" } }
       step {
         name: "typed" model: "many_dtypes"
         inputs { key: "ids" value: "first:y" }
         inputs { key: "flags" value: "request:flags" }
         inputs { key: "halves" value: "request:halves" }
         inputs { key: "words" value: "request:words" }
       }
       output { name: "ids" source: "typed:ids_tripled" }`,
      'dtype',
    );
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal(
      error.message,
      `${file('dtype')}: step 'typed' (model many_dtypes): input 'ids' is DT_INT64 [-1] but 'first:y' is DT_FLOAT [-1]: dtypes differ`,
    );
  });

  it('refuses a cycle', async () => {
    const error = await refusal(variant('request:x', 'second:y'), 'cycle');
    assert.match(
      error.message,
      /step 'first' \(model half_plus_two\): steps 'first' -> 'second' -> 'first' form a cycle$/,
    );
  });

  it('fails a bad version of a served chain while the good one keeps serving', async () => {
    // The manager retries a failed load (--max_num_load_retries); each attempt logs why.
    const prefix = `${file('mixed').replace('/1/', '/2/')}: step 'second' (model many_dtypes): input '`;
    const expected = (line: string) =>
      line.includes(prefix) && line.includes(`' of signature 'serving_default' is not mapped`);
    for (let waited = 0; !server.logs.some(expected); waited += 50) {
      if (waited > 20_000) assert.fail(`no load failure logged; log:\n${server.logs.join('\n')}`);
      await sleep(50);
    }
    const states = server.manager.getVersionStates('mixed');
    assert.deepEqual(states.find((state) => state.id.version === 1)?.state, 'AVAILABLE');
    assert.notEqual(states.find((state) => state.id.version === 2)?.state, 'AVAILABLE');
    const outputs = await server.run('mixed', { inputs: new Map([['x', floatInput([2], [1])]]) });
    assert.deepEqual([...floats(outputs.get('y'))], [3.5]);
  });

  it('loads a version directory without chain.pbtxt once it has settled, and fails it naming the file', async () => {
    const dir = path.join(scratch, 'mixed', '3');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'chain.txt'), GOOD); // misnamed: no platform recognises the directory
    // Polling every second, the directory is loaded after 3 s unchanged; the first attempt logs why it failed.
    const expected = (line: string) =>
      line.includes('{name: mixed version: 3} failed (attempt 1 of ') && line.includes(`${dir}/chain.pbtxt not found`);
    for (let waited = 0; !server.logs.some(expected); waited += 50) {
      if (waited > 20_000) assert.fail(`no load failure logged; log:\n${server.logs.join('\n')}`);
      await sleep(50);
    }
    const states = server.manager.getVersionStates('mixed');
    assert.deepEqual(states.find((state) => state.id.version === 1)?.state, 'AVAILABLE');
    assert.notEqual(states.find((state) => state.id.version === 3)?.state, 'AVAILABLE');
  });

  it('runs the version or label a step names', async () => {
    const pinned = variant('model: "half_plus_two" ', 'model: "half_plus_two" version: 1 ').replace(
      'model: "half_plus_two_torch"',
      'model: "half_plus_two_torch" version_label: "stable"',
    );
    const dir = writeChain(scratch, 'pinned', { 1: pinned }).basePath;
    const chain = await chainPlatform(server.manager).load(path.join(dir, '1'));
    const outputs = await predict(chain, {
      signatureName: '',
      inputs: new Map([['x', floatInput([2], [1])]]),
      outputFilter: [],
      encoding: 'host',
    });
    assert.deepEqual([...floats(outputs.get('y'))], [3.5]);
    const missing = await refusal(pinned.replace('version: 1', 'version: 7'), 'missing_version');
    assert.match(
      missing.message,
      /step 'first' \(model half_plus_two\): model half_plus_two is not AVAILABLE after 300 ms/,
    );
    const label = await refusal(pinned.replace('"stable"', '"canary"'), 'unknown_label');
    assert.equal(label.code, 'INVALID_ARGUMENT');
    assert.match(
      label.message,
      /step 'second' \(model half_plus_two_torch\): Unrecognized servable version label: canary$/,
    );
  });
});

describe('a chain listed before its models', () => {
  it('waits for them to load, then serves', async () => {
    const scratch = scratchDir();
    const server = await startChainServer(
      [
        writeChain(scratch, 'early', { 1: GOOD }),
        example('half_plus_two', 'tensorflow'),
        example('half_plus_two_torch', 'pytorch'),
      ],
      { scratch: [scratch] },
    );
    try {
      await server.waitAvailable('early', 1);
      const outputs = await server.run('early', { inputs: new Map([['x', floatInput([2], [1])]]) });
      assert.deepEqual([...floats(outputs.get('y'))], [3.5]);
    } finally {
      await server.stop();
    }
  });
});
