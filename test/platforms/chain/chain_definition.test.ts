import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServingError } from '../../../src/errors/serving_error';
import {
  type ModelStepDefinition,
  parseChainDefinition,
  refString,
} from '../../../src/platforms/chain/chain_definition';

const FILE = '/models/c/1/chain.pbtxt';
const parse = (text: string) => parseChainDefinition(text, FILE);

function failure(text: string): ServingError {
  try {
    parse(text);
  } catch (error) {
    return error as ServingError;
  }
  throw new assert.AssertionError({ message: 'expected the definition to be refused' });
}

function message(text: string): string {
  const error = failure(text);
  assert.equal(error.code, 'INVALID_ARGUMENT');
  return error.message;
}

const TWO_STEPS = `
input { name: "x" }
# Written out of order on purpose: steps run after the steps they take inputs from.
step { name: "rank" model: "ranker" version_label: "stable" inputs { key: "features" value: "featurize:features" } }
step { name: "featurize" model: "features" version: 3 signature_name: "embed" inputs { key: "x" value: "request:x" } }
output { name: "score" source: "rank:score" }
`;

describe('chain.pbtxt', () => {
  it('reads steps, versions, labels and references, in dependency order', () => {
    const definition = parse(TWO_STEPS);
    assert.deepEqual(definition.inputs, ['x']);
    assert.deepEqual(
      (definition.steps as ModelStepDefinition[]).map((step) => [step.name, step.model, step.signatureName]),
      [
        ['featurize', { name: 'features', version: 3 }, 'embed'],
        ['rank', { name: 'ranker', label: 'stable' }, 'serving_default'],
      ],
    );
    assert.deepEqual(
      [...definition.steps[1].inputs].map(([alias, ref]) => [alias, refString(ref)]),
      [['features', 'featurize:features']],
    );
    assert.deepEqual([...definition.outputs], [['score', { kind: 'step', step: 'rank', output: 'score' }]]);
  });

  it('reports text-format errors with file:line:column, never quoting the file', () => {
    assert.equal(
      message('input { name: "x" }\nstep { nmae: "a" }'),
      `${FILE}:2:8: unknown field in duoserve.chain.ChainStep`,
    );
    assert.equal(
      message('step { name: "a" model: secret }'),
      `${FILE}:1:25: expected a string for 'model', got a name`,
    );
    assert.equal(message('input { name: "x" } \u00e9'), `${FILE}:1:21: invalid character`);
    assert.match(
      message('step { name: "a" version: 1 version_label: "x" }'),
      /another member of oneof 'version_choice'/,
    );
  });

  it('refuses a step input from an unknown step', () => {
    assert.equal(
      message(TWO_STEPS.replace('featurize:features', 'featurise:features')),
      `${FILE}: step 'rank' (model ranker): input 'features' comes from unknown step 'featurise'`,
    );
  });

  it('refuses a cycle, naming the steps in it', () => {
    const cycle = `
      input { name: "x" }
      step { name: "a" model: "m" inputs { key: "x" value: "request:x" } inputs { key: "y" value: "c:out" } }
      step { name: "b" model: "m" inputs { key: "x" value: "a:out" } }
      step { name: "c" model: "m" inputs { key: "x" value: "b:out" } }
      output { name: "out" source: "c:out" }`;
    assert.equal(message(cycle), `${FILE}: step 'a' (model m): steps 'a' -> 'c' -> 'b' -> 'a' form a cycle`);
    const self = `
      input { name: "x" }
      step { name: "a" model: "m" inputs { key: "x" value: "a:out" } inputs { key: "z" value: "request:x" } }
      output { name: "out" source: "a:out" }`;
    assert.equal(message(self), `${FILE}: step 'a' (model m): steps 'a' -> 'a' form a cycle`);
  });

  it('refuses inputs that are undeclared or feed nothing', () => {
    assert.equal(
      message(TWO_STEPS.replace('request:x', 'request:raw')),
      `${FILE}: step 'featurize' (model features): input 'x' comes from undeclared chain input 'raw'`,
    );
    assert.equal(message(`input { name: "q" }\n${TWO_STEPS}`), `${FILE}: input 'q' feeds no step`);
    assert.equal(
      message(TWO_STEPS.replace('input { name: "x" }', 'input { name: "x" } input { name: "x" }')),
      `${FILE}: input 'x' is declared twice`,
    );
  });

  it('refuses outputs from unknown steps or malformed sources', () => {
    assert.equal(
      message(TWO_STEPS.replace('rank:score', 'ranking:score')),
      `${FILE}: output 'score' comes from unknown step 'ranking'`,
    );
    assert.equal(
      message(TWO_STEPS.replace('rank:score', 'request:x')),
      `${FILE}: output 'score': source must be "<step>:<output>", not "request:x"`,
    );
    assert.equal(message(TWO_STEPS.replace(/output \{[^}]*\}/, '')), `${FILE}: a chain needs at least one output`);
  });

  it('refuses malformed references, step names and steps that feed no output', () => {
    assert.equal(
      message(TWO_STEPS.replace('featurize:features', 'features')),
      `${FILE}: step 'rank' (model ranker): input 'features' comes from "features"; expected "request:<input>" or "<step>:<output>"`,
    );
    assert.match(
      message(TWO_STEPS.replaceAll('featurize', 'Featurize')),
      /step #2 is named 'Featurize'; a step name is lowercase/,
    );
    assert.match(message(TWO_STEPS.replaceAll('featurize', 'request')), /step #2 is named 'request'/);
    assert.equal(
      message(TWO_STEPS.replace('name: "rank"', 'name: "featurize"')),
      `${FILE}: step name 'featurize' is used twice`,
    );
    const idle = `${TWO_STEPS}\nstep { name: "extra" model: "m" inputs { key: "x" value: "request:x" } }`;
    assert.equal(message(idle), `${FILE}: step 'extra' (model m): feeds no chain output`);
    assert.equal(message('output { name: "y" source: "a:y" }'), `${FILE}: a chain needs at least one step`);
  });

  describe('conditions, exits and fallbacks', () => {
    // a -> b -> c, and d beside them; b runs when a:y > 0.
    const BRANCHED = `
      input { name: "x" }
      step { name: "a" model: "m" inputs { key: "x" value: "request:x" } }
      step { name: "b" model: "m" inputs { key: "x" value: "a:y" } when { source: "a:y" op: GREATER number: 0 } }
      step { name: "c" model: "m" inputs { key: "x" value: "b:y" } }
      step { name: "d" model: "m" inputs { key: "x" value: "request:x" } }
      output { name: "c" source: "c:y" fallback: "d:y" }
      output { name: "d" source: "d:y" }
      EXITS`;
    const withExits = (exits: string) => BRANCHED.replace('EXITS', exits);

    it('reads a when, and a step waits for the step its condition reads', () => {
      const gated = `
        input { name: "x" }
        step { name: "a" model: "m" inputs { key: "x" value: "request:x" } }
        step { name: "b" model: "m" inputs { key: "x" value: "request:x" }
               when { source: "a:flag" op: NOT_EQUAL text: "no" values: ALL } }
        output { name: "y" source: "b:y" fallback: "request:x" }`;
      const definition = parse(gated);
      const b = definition.steps[1];
      assert.deepEqual(b.after, ['a']);
      assert.deepEqual(b.when, {
        source: { kind: 'step', step: 'a', output: 'flag' },
        sourceName: 'a:flag',
        op: 'NOT_EQUAL',
        values: 'ALL',
        constant: { text: 'no' },
      });
      assert.deepEqual([...definition.fallbacks], [['y', { kind: 'request', input: 'x' }]]);
    });

    it('makes every step an exit does not need wait for it', () => {
      const definition = parse(withExits('exit { when { source: "a:y" op: LESS number: -1 } }'));
      assert.deepEqual(
        definition.steps.map((step) => [step.name, step.after]),
        [
          ['a', []],
          ['b', ['a']],
          ['c', ['b', 'a']],
          ['d', ['a']],
        ],
      );
    });

    it('refuses malformed conditions', () => {
      const when = (condition: string) =>
        BRANCHED.replace(/when \{[^}]*\}/, `when { ${condition} }`).replace('EXITS', '');
      const b = `${FILE}: step 'b' (model m): `;
      assert.equal(
        message(when('source: "a:y" number: 1')),
        `${b}condition on 'a:y' needs 'op' (EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER or GREATER_EQUAL)`,
      );
      assert.equal(
        message(when('source: "a:y" op: LESS')),
        `${b}condition on 'a:y' needs one constant: 'number' or 'text'`,
      );
      assert.equal(
        message(when('source: "a:y" op: LESS number: nan')),
        `${b}condition on 'a:y': 'number' is NaN, which equals nothing`,
      );
      assert.equal(
        message(when('source: "a:y" op: LESS number: 1 values: 7')),
        `${b}condition on 'a:y': 'values' is SINGLE, ANY or ALL, not 7`,
      );
      assert.equal(
        message(when('source: "y" op: LESS number: 1')),
        `${b}'when' reads "y"; expected "request:<input>" or "<step>:<output>"`,
      );
      assert.equal(message(when('source: "e:y" op: LESS number: 1')), `${b}'when' reads unknown step 'e'`);
      assert.equal(
        message(when('source: "request:z" op: LESS number: 1')),
        `${b}'when' reads undeclared chain input 'request:z'`,
      );
      assert.equal(
        message(when('source: "c:y" op: LESS number: 1')),
        `${FILE}: step 'b' (model m): steps 'b' -> 'c' -> 'b' form a cycle`,
      );
    });

    it('refuses a fallback that cannot run when its source does not', () => {
      assert.equal(
        message(withExits('').replace('source: "c:y" fallback: "d:y"', 'source: "b:y" fallback: "c:y"')),
        `${FILE}: output 'c': fallback 'c:y' never runs when source 'b:y' does not (step 'c' depends on step 'b')`,
      );
      assert.equal(
        message(withExits('').replace('fallback: "d:y"', 'fallback: "c:z"')),
        `${FILE}: output 'c': fallback 'c:z' never runs when source 'c:y' does not (both come from step 'c')`,
      );
    });

    it('refuses exits that are not on one path, or that end nothing early', () => {
      assert.equal(
        message(
          withExits(
            'exit { when { source: "b:y" op: LESS number: 0 } } exit { when { source: "d:y" op: LESS number: 0 } }',
          ),
        ),
        `${FILE}: exits #2 and #1 read steps 'd' and 'b', neither of which depends on the other; exits must lie on one path`,
      );
      assert.equal(
        message(
          withExits('exit { when { source: "d:y" op: LESS number: 0 } }')
            .replace(
              'step { name: "d" model: "m" inputs { key: "x" value: "request:x" } }',
              'step { name: "d" model: "m" inputs { key: "x" value: "c:y" } }',
            )
            .replace(' fallback: "d:y"', ''),
        ),
        `${FILE}: exit #1: every step runs before it is decided ('d:y'), so it ends nothing early`,
      );
      assert.equal(message(withExits('exit { }')), `${FILE}: exit #1 has no 'when'`);
      // Exits on one path, and on a request input, are fine.
      parse(
        withExits(
          'exit { when { source: "b:y" op: LESS number: 0 } } exit { when { source: "a:y" op: LESS number: 0 } } exit { when { source: "request:x" op: LESS number: 0 } }',
        ),
      );
    });
  });
});
