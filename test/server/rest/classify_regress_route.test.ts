import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { LoadedServable } from '../../../src/platforms/platform';
import { casesOf, loadExampleModel, readExampleReference } from '../../servables/example_models';
import { FakeManager } from './fakes/fake_manager';
import { FakeServable } from './fakes/fake_servable';
import { restApp } from './rest_app';
import { monotonicMicros } from '../../../src/servables/run_deadline';

/**
 * The reference cases of test/fixtures/export_tf_example_models.py written as TF-Serving's JSON:
 * x as a float (1.0, not 1), n as an integer, tag as a string.
 */
const CASE_BODIES = [
  '{"examples": [{"x": 1.0}, {"x": -3.5, "n": 7}, {"x": 1e6, "n": -2, "tag": "€ uro"}]}',
  '{"context": {"n": 10, "tag": "shared"}, "examples": [{"x": 0.25}, {"x": 4.0, "n": 1, "tag": "own"}]}',
];

const withSignature = (body: string, signature: string) => `{"signature_name": "${signature}", ${body.slice(1)}`;

describe('POST /v1/models/NAME[/versions/N|/labels/L]:classify and :regress, on real SavedModels', () => {
  let app: FastifyInstance;
  let checkedApp: FastifyInstance;
  let tf1: LoadedServable;
  let tf2: LoadedServable;
  let slow: FakeServable;
  const reference = { tf1: readExampleReference('examples_tf1'), tf2: readExampleReference('examples_tf2') };
  const manager = new FakeManager();
  const post = (url: string, payload: string, to = app) => to.inject({ method: 'POST', url, payload });

  before(async () => {
    [tf1, tf2] = await Promise.all([loadExampleModel('examples_tf1'), loadExampleModel('examples_tf2')]);
    slow = new FakeServable(
      tf1.signatures,
      (request) => new Promise((resolve) => setTimeout(() => resolve(tf1.runChecked(request)), 2000)),
    );
    manager
      .addVersion('tf1', { version: 4, servable: tf1 })
      .setLabel('tf1', 'stable', 4)
      .addVersion('tf2', { version: 1, servable: tf2 })
      .addVersion('slow', { version: 1, servable: slow });
    app = await restApp(manager, { timeoutMs: 1000 });
    checkedApp = await restApp(manager, { enableSignatureMethodNameCheck: true });
  });
  after(async () => {
    await app.close();
    await checkedApp.close();
    tf1.unload();
    tf2.unload();
  });

  it('classifies as TensorFlow computes, with and without a context, at every addressing', async () => {
    for (const url of [
      '/v1/models/tf1:classify',
      '/v1/models/tf1/versions/4:classify',
      '/v1/models/tf1/labels/stable:classify',
    ]) {
      for (const [index, testCase] of casesOf(reference.tf1, 'serving_default').entries()) {
        const response = await post(url, CASE_BODIES[index]);
        assert.equal(response.statusCode, 200, response.body);
        assert.equal(response.headers['content-type'], 'application/json');
        const { results } = response.json<{ results: Array<Array<[string, number]>> }>();
        const { classes, scores } = testCase.outputs;
        const [batch, count] = scores.shape;
        assert.equal(results.length, batch);
        results.forEach((row, example) => {
          assert.equal(row.length, count);
          row.forEach(([label, score], c) => {
            assert.equal(label, Buffer.from(classes.values[example * count + c] as string, 'base64').toString('utf8'));
            assert.equal(Math.fround(score), Math.fround(scores.values[example * count + c] as number));
          });
        });
      }
    }
    assert.equal(manager.outstanding, 0);
  });

  it('lays the answer out as TF-Serving does', async () => {
    const response = await post(
      '/v1/models/tf1:classify',
      '{"signature_name": "classify_scores_only", "examples": [{"x": 2.0}]}',
    );
    assert.equal(response.body, '{\n    "results": [[["", 3.0], ["", 0.0], ["", 0.0]]\n    ]\n}');
    const regressed = await post(
      '/v1/models/tf1:regress',
      '{"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}, {"x": 0.5}]}',
    );
    assert.equal(regressed.body, '{\n    "results": [3.0, 2.25]\n}');
  });

  it('regresses as TensorFlow computes', async () => {
    for (const [model, signature] of [
      ['tf1', 'regress_x_plus_n'],
      ['tf1', 'regress_x_to_y_column'],
      ['tf2', 'regress'],
    ] as const) {
      const ref = model === 'tf1' ? reference.tf1 : reference.tf2;
      for (const [index, testCase] of casesOf(ref, signature).entries()) {
        const response = await post(`/v1/models/${model}:regress`, withSignature(CASE_BODIES[index], signature));
        assert.equal(response.statusCode, 200, response.body);
        const { results } = response.json<{ results: number[] }>();
        assert.deepEqual(results.map(Math.fround), (testCase.outputs.outputs.values as number[]).map(Math.fround));
      }
    }
  });

  it('TF2 predict-method signatures serve unless --enable_signature_method_name_check', async () => {
    assert.equal((await post('/v1/models/tf2:classify', CASE_BODIES[0])).statusCode, 200);
    const refused = await post('/v1/models/tf2:classify', CASE_BODIES[0], checkedApp);
    assert.equal(refused.statusCode, 400);
    assert.deepEqual(refused.json(), {
      error:
        'Expected classification signature method_name to be tensorflow/serving/classify. Was: tensorflow/serving/predict',
    });
    assert.equal((await post('/v1/models/tf1:classify', CASE_BODIES[0], checkedApp)).statusCode, 200);
  });

  const errorCases: Array<[string, string, string, number, string | RegExp]> = [
    ['invalid JSON', '/v1/models/tf1:classify', '{"examples": [', 400, /^JSON Parse error: /],
    [
      'no examples',
      '/v1/models/tf1:regress',
      '{"instances": [1]}',
      400,
      /When method is classify, key 'examples' is expected and was not found$/,
    ],
    [
      'a bad feature value',
      '/v1/models/tf1:classify',
      '{"examples": [{"x": [1.0, 2]}]}',
      400,
      'Unexpected element type in feature: x expecting type: float',
    ],
    [
      'an unknown model (after the JSON)',
      '/v1/models/nope:classify',
      '{"examples": [{}]}',
      404,
      'Servable not found for request: Latest(nope)',
    ],
    [
      'an unknown version',
      '/v1/models/tf1/versions/9:regress',
      '{"examples": [{}]}',
      404,
      'Servable not found for request: Specific(tf1, 9)',
    ],
    [
      'an unknown signature',
      '/v1/models/tf1:classify',
      '{"signature_name": "nope", "examples": [{"x": 1.0}]}',
      400,
      'No signature was found with the name: nope',
    ],
    [
      'a classification signature for :regress',
      '/v1/models/tf1:regress',
      '{"examples": [{"x": 1.0}]}',
      400,
      'Expected one output Tensor.',
    ],
    [
      'outputs that do not fit',
      '/v1/models/tf1:regress',
      '{"signature_name": "bad_regress_batch", "examples": [{"x": 1.0}, {"x": 2.0}]}',
      400,
      'Input batch size did not match output batch size: 2 vs. 1',
    ],
    [
      'an integer where the model parses a float: the model says so',
      '/v1/models/tf1:classify',
      '{"examples": [{"x": 1}]}',
      400,
      /\bx\b/,
    ],
    [
      'a deadline',
      '/v1/models/slow:classify',
      '{"examples": [{"x": 1.0}]}',
      504,
      'Deadline exceeded: the model did not answer within 1000 ms',
    ],
  ];
  for (const [what, url, body, status, message] of errorCases) {
    it(`answers ${what} with ${status} and TF-Serving's message`, async () => {
      const response = await post(url, body);
      assert.equal(response.statusCode, status, response.body);
      const { error } = response.json<{ error: string }>();
      if (typeof message === 'string') assert.equal(error, message);
      else assert.match(error, message);
    });
  }

  it('releases every handle, also after a deadline once the run ends', async () => {
    // The slow run ends 2 s after its request started, 1 s after the deadline answered it.
    for (let waited = 0; manager.outstanding > 0 && waited < 5000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(manager.outstanding, 0);
  });

  it('gives a :classify run the --rest_api_timeout_in_ms deadline, as :predict: still queued then, it never starts', async () => {
    const count = slow.requests.length;
    const before = monotonicMicros();
    assert.equal((await post('/v1/models/slow:classify', '{"examples": [{"x": 1.0}]}')).statusCode, 504);
    assert.equal(slow.requests.length, count + 1);
    const { deadlineUs } = slow.requests.at(-1)!;
    assert.ok(deadlineUs !== undefined, 'a deadline reaches the run');
    assert.ok(
      deadlineUs >= before + 1000 * 1000 && deadlineUs <= monotonicMicros(),
      `deadline ${deadlineUs - before} µs on`,
    );
  });

  it('other verbs still get "Malformed request"', async () => {
    const response = await post('/v1/models/tf1:explain', '{}');
    assert.equal(response.statusCode, 400);
    assert.deepEqual(response.json(), { error: 'Malformed request: POST /v1/models/tf1:explain' });
  });
});
