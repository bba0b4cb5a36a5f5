import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../../src/errors/serving_error';
import type { NativeOutput } from '../../../src/native/backend_addon';
import { DataType } from '../../../src/tensors/data_type';
import { FakeManager } from './fakes/fake_manager';
import { echo, FakeServable, hostTensor, identityServable, signature, spec } from './fakes/fake_servable';
import { restApp } from './rest_app';

/** y = x / 2 + 2 over float32, TF-Serving's half_plus_two. */
function halfPlusTwo(): FakeServable {
  const signatures = new Map([
    ['serving_default', signature({ x: spec(DataType.DT_FLOAT, [-1]) }, { y: spec(DataType.DT_FLOAT, [-1]) })],
  ]);
  return new FakeServable(signatures, ({ inputs }) => {
    const x = inputs.get('x') as unknown as { shape: number[]; data: Float32Array };
    return new Map<string, NativeOutput>([
      [
        'y',
        hostTensor(
          DataType.DT_FLOAT,
          x.shape,
          x.data.map((v) => v / 2 + 2),
        ),
      ],
    ]);
  });
}

function multi(): FakeServable {
  const signatures = new Map([
    [
      'serving_default',
      signature(
        { tag: spec(DataType.DT_STRING, [-1]), signal: spec(DataType.DT_INT64, [-1, 3]) },
        { tag_bytes: spec(DataType.DT_STRING, [-1]), signal: spec(DataType.DT_INT64, [-1, 3]) },
      ),
    ],
    ['tags_only', signature({ tag: spec(DataType.DT_STRING, [-1]) }, { tag: spec(DataType.DT_STRING, [-1]) })],
  ]);
  return identityServable(signatures, { tag_bytes: 'tag', signal: 'signal', tag: 'tag' });
}

const post = (app: FastifyInstance, url: string, payload: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload, headers });

describe('POST /v1/models/NAME[/versions/N|/labels/L]:predict', () => {
  let app: FastifyInstance;
  const v1 = halfPlusTwo();
  const v2 = halfPlusTwo();
  const manager = new FakeManager()
    .addVersion('half_plus_two', { version: 1, servable: v1 })
    .addVersion('half_plus_two', { version: 2, servable: v2 })
    .setLabel('half_plus_two', 'stable', 1)
    .addVersion('multi', { version: 1, servable: multi() })
    .addVersion('failing', {
      version: 1,
      servable: new FakeServable(halfPlusTwo().signatures, () => {
        throw Object.assign(new Error('Incompatible shapes: [2] vs. [3]'), { code: 'INVALID_ARGUMENT' });
      }),
    })
    .addVersion('broken', {
      version: 1,
      servable: new FakeServable(halfPlusTwo().signatures, () => {
        throw new TypeError('bug');
      }),
    });

  before(async () => {
    app = await restApp(manager);
  });
  after(() => app.close());

  it('answers the documented curl example byte for byte', async () => {
    // curl -d sends application/x-www-form-urlencoded; TF-Serving reads JSON regardless.
    const response = await post(app, '/v1/models/half_plus_two:predict', '{"instances": [1.0, 2.0, 5.0]}', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.equal(response.body, '{\n    "predictions": [2.5, 3.0, 4.5\n    ]\n}');
    assert.equal(manager.outstanding, 0);
  });

  it('accepts any Content-Type, or none', async () => {
    for (const headers of [{}, { 'content-type': 'application/json' }, { 'content-type': 'text/plain' }] as Array<
      Record<string, string>
    >) {
      const response = await post(app, '/v1/models/half_plus_two:predict', '{"inputs": [1.0]}', headers);
      assert.equal(response.statusCode, 200, JSON.stringify(headers));
      assert.deepEqual(response.json(), { outputs: [2.5] });
    }
  });

  it('routes versions and labels to the right servable', async () => {
    const before1 = v1.requests.length;
    const before2 = v2.requests.length;
    assert.equal((await post(app, '/v1/models/half_plus_two/versions/1:predict', '{"inputs": [0]}')).statusCode, 200);
    assert.equal(v1.requests.length, before1 + 1);
    assert.equal(
      (await post(app, '/v1/models/half_plus_two/labels/stable:predict', '{"inputs": [0]}')).statusCode,
      200,
    );
    assert.equal(v1.requests.length, before1 + 2);
    assert.equal((await post(app, '/v1/models/half_plus_two:predict', '{"inputs": [0]}')).statusCode, 200);
    assert.equal(v2.requests.length, before2 + 1);
    assert.equal(v2.requests.at(-1)!.encoding, 'host');
    assert.equal(v2.requests.at(-1)!.signatureName, 'serving_default');
  });

  it('row format with several inputs and outputs; _bytes outputs in b64; int64 exact', async () => {
    const response = await post(
      app,
      '/v1/models/multi:predict',
      '{"instances": [{"tag": "foo", "signal": [1, 2, 9007199254740993]}, {"tag": {"b64": "YmFy"}, "signal": [4, 5, 6]}]}',
    );
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(response.body.includes('9007199254740993'));
    const body = JSON.parse(response.body.replace('9007199254740993', '"big"'));
    assert.deepEqual(body, {
      predictions: [
        { tag_bytes: { b64: 'Zm9v' }, signal: [1, 2, 'big'] },
        { tag_bytes: { b64: 'YmFy' }, signal: [4, 5, 6] },
      ],
    });
  });

  it('columnar format and a named signature', async () => {
    const response = await post(
      app,
      '/v1/models/multi:predict',
      '{"signature_name": "tags_only", "inputs": {"tag": ["a", "b"]}}',
    );
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { outputs: ['a', 'b'] });
  });

  it('leaves shapes to the model, as TF-Serving does: a shape the signature does not declare reaches it', async () => {
    const response = await post(app, '/v1/models/multi:predict', '{"inputs": {"tag": ["a"], "signal": [[1, 2]]}}');
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { outputs: { tag_bytes: [{ b64: 'YQ==' }], signal: [[1, 2]] } });
  });

  it('NaN and Infinity in and out', async () => {
    const response = await post(app, '/v1/models/half_plus_two:predict', '{"instances": [NaN, -Infinity]}');
    assert.equal(response.body, '{\n    "predictions": [NaN, -Infinity\n    ]\n}');
  });

  const errorCases: Array<[string, string, string, number, string | RegExp]> = [
    [
      'invalid JSON',
      '/v1/models/half_plus_two:predict',
      '{"instances": [1.0,',
      400,
      'JSON Parse error: Invalid value. at offset: 19',
    ],
    ['empty body', '/v1/models/half_plus_two:predict', '', 400, 'JSON Parse error: The document is empty'],
    [
      'ragged rows',
      '/v1/models/multi:predict',
      '{"instances": [{"tag": "a", "signal": [1, 2, 3]}, {"tag": "b", "signal": [1, 2]}]}',
      400,
      "Failed to process element: 1 key: signal of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 3 but got: 2",
    ],
    [
      'missing input',
      '/v1/models/multi:predict',
      '{"inputs": {"tag": ["a"]}}',
      400,
      "Missing named input: signal in 'inputs' object.",
    ],
    [
      'unknown input',
      '/v1/models/multi:predict',
      '{"instances": [{"tag": "a", "signal": [1, 2, 3], "extra": 1}]}',
      400,
      "Failed to process element: 0 key: extra of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have named input: extra",
    ],
    [
      'unknown model',
      '/v1/models/half:predict',
      '{"instances": [1.0]}',
      404,
      'Servable not found for request: Latest(half)',
    ],
    [
      'unknown version',
      '/v1/models/half_plus_two/versions/9:predict',
      '{"instances": [1.0]}',
      404,
      'Servable not found for request: Specific(half_plus_two, 9)',
    ],
    [
      'unknown label',
      '/v1/models/half_plus_two/labels/canary:predict',
      '{"instances": [1.0]}',
      404,
      'Unrecognized servable version label: canary',
    ],
    [
      'unknown signature (TF-Serving: INVALID_ARGUMENT)',
      '/v1/models/half_plus_two:predict',
      '{"signature_name": "nope", "instances": [1.0]}',
      400,
      'Serving signature name: "nope" not found in signature def',
    ],
    [
      'framework error with a canonical code',
      '/v1/models/failing:predict',
      '{"instances": [1.0]}',
      400,
      'Incompatible shapes: [2] vs. [3]',
    ],
    ['programming error', '/v1/models/broken:predict', '{"instances": [1.0]}', 500, 'bug'],
  ];
  for (const [name, url, payload, status, message] of errorCases) {
    it(`${status} for ${name}`, async () => {
      const response = await post(app, url, payload);
      assert.equal(response.statusCode, status, response.body);
      assert.equal(response.headers['content-type'], 'application/json');
      assert.deepEqual(Object.keys(response.json()), ['error']);
      if (typeof message === 'string') assert.equal(response.json().error, message);
      else assert.match(response.json().error, message);
      assert.equal(manager.outstanding, 0, 'every handle released');
    });
  }

  it('keeps serving after errors', async () => {
    const response = await post(app, '/v1/models/half_plus_two:predict', '{"instances": [3]}');
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { predictions: [3.5] });
  });
});

describe(':predict deadline (--rest_api_timeout_in_ms)', () => {
  it('answers 504 when the run outlives the deadline, and releases the handle when it ends', async () => {
    let finish: () => void = () => {};
    const signatures = new Map([
      ['serving_default', signature({ x: spec(DataType.DT_FLOAT, null) }, { y: spec(DataType.DT_FLOAT, null) })],
    ]);
    const slow = new FakeServable(signatures, async ({ inputs }) => {
      await new Promise<void>((resolve) => (finish = resolve));
      return new Map<string, NativeOutput>([['y', echo(inputs.get('x')!)]]);
    });
    const manager = new FakeManager().addVersion('slow', { version: 1, servable: slow });
    const app = await restApp(manager, { timeoutMs: 20 });
    try {
      const response = await post(app, '/v1/models/slow:predict', '{"instances": [1]}');
      assert.equal(response.statusCode, 504);
      assert.match(response.json().error, /Deadline exceeded/);
      assert.equal(manager.outstanding, 1, 'the run still holds the model');
      finish();
      // The fake's outputs become real HostTensors through the codec (a worker-thread hop) first.
      for (let waited = 0; manager.outstanding > 0 && waited < 2_000; waited += 5) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(manager.outstanding, 0);
    } finally {
      await app.close();
    }
  });
});

describe('REST errors from the error catalog', () => {
  it('maps a ServingError code through httpStatusOf', async () => {
    const signatures = new Map([
      ['serving_default', signature({ x: spec(DataType.DT_FLOAT, null) }, { y: spec(DataType.DT_FLOAT, null) })],
    ]);
    const codes: Array<[ServingError['code'], number]> = [
      ['RESOURCE_EXHAUSTED', 429],
      ['UNAVAILABLE', 503],
      ['FAILED_PRECONDITION', 400],
      ['UNIMPLEMENTED', 501],
    ];
    for (const [code, status] of codes) {
      const manager = new FakeManager().addVersion('m', {
        version: 1,
        servable: new FakeServable(signatures, () => {
          throw new ServingError(code, `failed with ${code}`);
        }),
      });
      const app = await restApp(manager);
      const response = await post(app, '/v1/models/m:predict', '{"inputs": 1}');
      assert.equal(response.statusCode, status, code);
      assert.deepEqual(response.json(), { error: `failed with ${code}` });
      await app.close();
    }
  });
});
