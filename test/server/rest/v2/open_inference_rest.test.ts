/**
 * The /v2 REST routes of a real server (ServerCore over TensorFlow and PyTorch, the REST server
 * with its drain and readiness, one OpenInference) on a free port: health, metadata, readiness,
 * infer with JSON and binary tensors both ways, compressed bodies, versions and labels, every
 * error with its status and {"error": ...} body (the server serving on after each), the request
 * metrics, and the drain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { metricsRegistry } from '../../../../src/monitoring/registry';
import { platformRegistry } from '../../../../src/platforms/registry';
import { Drain } from '../../../../src/server/drain';
import { OpenInference } from '../../../../src/server/open_inference/open_inference';
import { readinessOf } from '../../../../src/server/readiness';
import { startRestServer } from '../../../../src/server/rest/rest_server';
import { ServerCore } from '../../../../src/server/server_core';
import {
  EXAMPLE_MODELS,
  EXPECTED_Y,
  INPUT_X,
  ModelDirs,
  modelServerConfig,
  recordingLog,
} from '../../lifecycle_helpers';

const [TF, TORCH] = EXAMPLE_MODELS;
const BODY_LIMIT = 64 * 1024;

interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
  json(): any;
}

describe('the /v2 REST API of a real server', { timeout: 120_000 }, () => {
  const dirs = new ModelDirs();
  const drain = new Drain();
  let core: ServerCore;
  let rest: { port: number; close(): Promise<unknown> };

  const request = async (
    method: string,
    path: string,
    body?: Buffer | string,
    headers: Record<string, string> = {},
  ): Promise<Answer> => {
    const response = await fetch(`http://127.0.0.1:${rest.port}${path}`, { method, body, headers });
    const bytes = Buffer.from(await response.arrayBuffer());
    return {
      status: response.status,
      headers: response.headers,
      bytes,
      json: () => JSON.parse(bytes.toString('utf8')),
    };
  };
  const get = (path: string) => request('GET', path);
  const infer = (model: string, body: unknown, headers: Record<string, string> = {}) =>
    request(
      'POST',
      `/v2/models/${model}/infer`,
      typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      headers,
    );
  const xInput = (data: unknown = INPUT_X, more: object = {}) => ({
    name: 'x',
    shape: [3],
    datatype: 'FP32',
    data,
    ...more,
  });

  /** The error's status and message, after checking the body's shape. */
  const failure = (answer: Answer): [number, string] => {
    assert.equal(answer.headers.get('content-type'), 'application/json');
    const body = answer.json();
    assert.deepEqual(Object.keys(body), ['error']);
    return [answer.status, body.error];
  };

  before(async () => {
    const tf = dirs.basePath('tf');
    dirs.addVersion(tf, TF, 1);
    dirs.addVersion(tf, TF, 2);
    const torch = dirs.basePath('torch');
    dirs.addVersion(torch, TORCH, 1);
    const models = [
      { name: 'tf', base_path: tf, model_platform: 'tensorflow', model_version_policy: { all: {} } },
      { name: 'torch', base_path: torch, model_platform: 'pytorch' },
    ];
    core = new ServerCore(modelServerConfig(models), {
      platforms: platformRegistry({ savedModelTags: ['serve'] }),
      fileSystemPollWaitSeconds: 0.2,
      maxNumLoadRetries: 0,
      log: recordingLog().log,
    });
    await core.waitUntilModelsAvailable();
    // A label names a version once it is loaded, as in TF-Serving.
    await core.reloadConfig(modelServerConfig([{ ...models[0], version_labels: { stable: 1 } }, models[1]]));
    const readiness = readinessOf({
      configuredModels: () => models.map(({ name }) => name),
      manager: core.manager,
      drain,
    });
    const openInference = new OpenInference(core.manager, {
      readiness,
      platformOf: (name) => models.find((model) => model.name === name)?.model_platform,
    });
    rest = await startRestServer(core.manager, {
      port: 0,
      listenAddress: '127.0.0.1',
      timeoutMs: 0,
      bodyLimit: BODY_LIMIT,
      drain,
      readiness,
      openInference,
    });
  });
  after(async () => {
    await rest?.close();
    await core?.shutdown();
    dirs.cleanUp();
  });

  it('answers live and ready with 200 and the JSON the kserve SDK reads', async () => {
    for (const [path, body] of [
      ['/v2/health/live', { live: true }],
      ['/v2/health/ready', { ready: true }],
    ] as const) {
      const answer = await get(path);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('content-type'), 'application/json');
      assert.deepEqual(answer.json(), body);
    }
  });

  it('serves server metadata and model metadata, latest or a version', async () => {
    const server = await get('/v2');
    assert.equal(server.status, 200);
    assert.equal(server.json().name, 'duoserve');
    assert.deepEqual(server.json().extensions, ['binary_tensor_data', 'parameters']);
    const tf = await get('/v2/models/tf');
    assert.equal(tf.status, 200);
    assert.deepEqual(tf.json(), {
      name: 'tf',
      versions: ['1', '2'],
      platform: 'tensorflow',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
    });
    assert.equal((await get('/v2/models/tf/versions/1')).status, 200);
    assert.equal((await get('/v2/models/torch')).json().platform, 'pytorch');
    assert.equal(failure(await get('/v2/models/nope'))[0], 404);
    assert.equal(failure(await get('/v2/models/tf/versions/7'))[0], 404);
  });

  it('answers model readiness: 200 when a version is AVAILABLE, 400 for none or an unknown model', async () => {
    const ready = await get('/v2/models/tf/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json(), { name: 'tf', ready: true });
    assert.equal((await get('/v2/models/tf/versions/1/ready')).status, 200);
    assert.deepEqual(failure(await get('/v2/models/tf/versions/7/ready')), [
      400,
      "Model 'tf' version '7' is not ready",
    ]);
    assert.deepEqual(failure(await get('/v2/models/nope/ready')), [400, "Model 'nope' is not ready"]);
  });

  it('infers with JSON on TensorFlow and PyTorch, the latest version unless the path or version_label names one', async () => {
    const tf = await infer('tf', { id: 'a1', inputs: [xInput()] });
    assert.equal(tf.status, 200);
    assert.equal(tf.headers.get('content-type'), 'application/json');
    assert.deepEqual(tf.json(), {
      model_name: 'tf',
      model_version: '2',
      id: 'a1',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [3], data: EXPECTED_Y }],
    });
    const nested = await infer('torch', {
      inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [[1], [2], [5]] }],
    });
    assert.deepEqual(nested.json().outputs[0].data, EXPECTED_Y);
    assert.equal(nested.json().model_version, '1');
    const byPath = await request('POST', '/v2/models/tf/versions/1/infer', JSON.stringify({ inputs: [xInput()] }));
    assert.equal(byPath.json().model_version, '1');
    const byLabel = await infer('tf', { parameters: { version_label: 'stable' }, inputs: [xInput()] });
    assert.equal(byLabel.json().model_version, '1');
  });

  it('takes binary inputs and sends binary outputs (binary tensor extension)', async () => {
    const x = Buffer.from(new Float32Array(INPUT_X).buffer);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'x', shape: [3], datatype: 'FP32', parameters: { binary_data_size: x.length } }],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      }),
    );
    const answer = await infer('tf', Buffer.concat([header, x]), {
      'inference-header-content-length': String(header.length),
      'content-type': 'application/octet-stream',
    });
    assert.equal(answer.status, 200);
    const jsonLength = Number(answer.headers.get('inference-header-content-length'));
    assert.equal(answer.headers.get('content-type'), 'application/octet-stream');
    assert.equal(Number(answer.headers.get('content-length')), answer.bytes.length);
    assert.deepEqual(JSON.parse(answer.bytes.subarray(0, jsonLength).toString()).outputs, [
      { name: 'y', datatype: 'FP32', shape: [3], parameters: { binary_data_size: 12 } },
    ]);
    const y = answer.bytes.subarray(jsonLength);
    assert.deepEqual([...new Float32Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.length))], EXPECTED_Y);
    // binary_data_output makes every output binary.
    const all = await infer('torch', { parameters: { binary_data_output: true }, inputs: [xInput()] });
    assert.equal(all.bytes.length - Number(all.headers.get('inference-header-content-length')), 12);
  });

  it('inflates gzip and deflate bodies; refuses another encoding or bytes that do not inflate', async () => {
    const body = JSON.stringify({ inputs: [xInput()] });
    for (const [encoding, compress] of [
      ['gzip', zlib.gzipSync],
      ['deflate', zlib.deflateSync],
    ] as const) {
      const answer = await infer('tf', compress(body), { 'content-encoding': encoding });
      assert.equal(answer.status, 200, answer.bytes.toString());
      assert.deepEqual(answer.json().outputs[0].data, EXPECTED_Y);
    }
    assert.deepEqual(failure(await infer('tf', zlib.brotliCompressSync(body), { 'content-encoding': 'br' })), [
      400,
      "Content-Encoding 'br' is not supported; send the body as is, gzip or deflate",
    ]);
    assert.deepEqual(failure(await infer('tf', body, { 'content-encoding': 'gzip' })), [
      400,
      'The request body is not valid gzip data',
    ]);
    // The limit counts inflated bytes: a small bomb is refused as a large body.
    const bomb = zlib.gzipSync(Buffer.alloc(BODY_LIMIT * 4, 0x20));
    assert.ok(bomb.length < BODY_LIMIT);
    assert.equal(failure(await infer('tf', bomb, { 'content-encoding': 'gzip' }))[0], 413);
  });

  it('answers each bad request with its status and message, and keeps serving', async () => {
    const cases: Array<[string, () => Promise<Answer>, number, RegExp]> = [
      [
        'unknown model',
        () => infer('nope', { inputs: [xInput()] }),
        404,
        /^Servable not found for request: Latest\(nope\)$/,
      ],
      ['bad JSON', () => infer('tf', '{"inputs": [secret-text'), 400, /^JSON Parse error/],
      [
        'wrong datatype',
        () => infer('tf', { inputs: [xInput([1, 2, 5], { datatype: 'INT32' })] }),
        400,
        /Expects arg\[0\] to be float but int32 is provided/,
      ],
      [
        'wrong shape',
        () => infer('tf', { inputs: [xInput([1, 2, 5], { shape: [4] })] }),
        400,
        /3 values, but shape \[4\] has 4 elements/,
      ],
      ['missing input', () => infer('tf', { inputs: [] }), 400, /Missing but required: \{x\}/],
      [
        'unknown output',
        () => infer('tf', { inputs: [xInput()], outputs: [{ name: 'nope' }] }),
        400,
        /output tensor alias not found in signature: nope/,
      ],
      [
        'bad version',
        () => request('POST', '/v2/models/tf/versions/abc/infer', JSON.stringify({ inputs: [xInput()] })),
        400,
        /must be a number, not 'abc'/,
      ],
      [
        'binary size past the body',
        () => {
          const header = '{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","parameters":{"binary_data_size":12}}]}';
          return infer('tf', `${header}abcd`, { 'inference-header-content-length': String(header.length) });
        },
        400,
        /binary_data_size 12 goes past the end of the request body \(4 bytes of binary data left\)/,
      ],
      [
        'bad header length',
        () => infer('tf', '{}', { 'inference-header-content-length': 'x' }),
        400,
        /Inference-Header-Content-Length 'x'/,
      ],
      [
        'body over the limit',
        () => infer('tf', Buffer.alloc(BODY_LIMIT + 1, 0x20)),
        413,
        /larger than this server's limit of 65536 bytes/,
      ],
      [
        'unsupported path',
        () => get('/v2/repository/index'),
        400,
        /^Unsupported request: GET '\/v2\/repository\/index'$/,
      ],
      ['GET on infer', () => get('/v2/models/tf/infer'), 400, /Unsupported request/],
    ];
    for (const [what, send, status, message] of cases) {
      const [actual, text] = failure(await send());
      assert.equal(actual, status, `${what}: ${text}`);
      assert.match(text, message, what);
      assert.doesNotMatch(text, /secret-text/, what);
      const good = await infer('tf', { inputs: [xInput()] });
      assert.equal(good.status, 200, `after ${what}`);
    }
  });

  it('counts infer requests under API ModelInfer, entrypoint REST; the health probes not at all', async () => {
    const count = async (labels: string) => {
      const text = await metricsRegistry.metrics();
      const line = text.split('\n').find((l) => l.startsWith(`:tensorflow:serving:request_latency_count{${labels}}`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const labels = 'model_name="torch",API="ModelInfer",entrypoint="REST"';
    const before = await count(labels);
    await infer('torch', { inputs: [xInput()] });
    assert.equal(await count(labels), before + 1);
    const probes = await count('model_name="",API="",entrypoint="REST"');
    await get('/v2/health/ready');
    assert.equal(await count('model_name="",API="",entrypoint="REST"'), probes);
  });

  it('once draining: not ready (400), still live, infer refused with 503', async () => {
    await drain.start(0);
    assert.deepEqual(failure(await get('/v2/health/ready')), [400, 'The server is not ready']);
    assert.equal((await get('/v2/health/live')).status, 200);
    const [status, message] = failure(await infer('tf', { inputs: [xInput()] }));
    assert.equal(status, 503);
    assert.match(message, /shutting down/);
  });
});
