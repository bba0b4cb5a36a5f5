import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fastify, { FastifyInstance } from 'fastify';
import { registerRestRoutes, REST_FASTIFY_OPTIONS } from '../../../src/server/rest';
import { DataType } from '../../../src/tensors/data_type';
import { FakeManager } from './fakes/fake_manager';
import { identityServable, signature, spec } from './fakes/fake_servable';
import { restApp } from './rest_app';

const servable = identityServable(
  new Map([['serving_default', signature({ x: spec(DataType.DT_FLOAT, null) }, { y: spec(DataType.DT_FLOAT, null) })]]),
  { y: 'x' },
);

describe('REST API routing and HTTP edges', () => {
  let app: FastifyInstance;
  const manager = new FakeManager().addVersion('m', { version: 1, servable });

  before(async () => {
    app = await restApp(manager, { bodyLimit: 1024 });
  });
  after(() => app.close());

  it('answers other /v1/ requests as malformed, like TF-Serving', async () => {
    const cases: Array<[string, string]> = [
      ['GET', '/v1/models/m:predict'],
      ['PUT', '/v1/models/m'],
      ['POST', '/v1/models/m'],
      ['POST', '/v1/models/m/versions/x:predict'],
      ['GET', '/v1/models/m/versions/1/extra?q=1'],
      ['GET', '/v1/other'],
    ];
    for (const [method, url] of cases) {
      const response = await app.inject({ method: method as 'GET', url, payload: method === 'GET' ? undefined : '{}' });
      assert.equal(response.statusCode, 400, `${method} ${url}`);
      assert.deepEqual(response.json(), { error: `Malformed request: ${method} ${url.split('?')[0]}` });
    }
  });

  it('accepts model names with dots and dashes, and ":predict" after them', async () => {
    const manager2 = new FakeManager().addVersion('my.model-v2', { version: 1, servable });
    const app2 = await restApp(manager2);
    const response = await app2.inject({
      method: 'POST',
      url: '/v1/models/my.model-v2:predict',
      payload: '{"inputs": [1]}',
    });
    assert.equal(response.statusCode, 200, response.body);
    await app2.close();
  });

  it('a body over the limit is 413 with the limit and its flag named, and the server goes on', async () => {
    const big = `{"inputs": [${new Array(600).fill('1').join(',')}]}`;
    const response = await app.inject({ method: 'POST', url: '/v1/models/m:predict', payload: big });
    assert.equal(response.statusCode, 413);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(response.json(), {
      error:
        "Request body is larger than this server's limit of 1024 bytes (--duoserve_rest_max_body_bytes); " +
        'send large tensors over gRPC',
    });
    const ok = await app.inject({ method: 'POST', url: '/v1/models/m:predict', payload: '{"inputs": [1]}' });
    assert.equal(ok.statusCode, 200);
  });

  it('pathological nesting is a 400, not a crash', async () => {
    const app2 = await restApp(manager);
    for (const payload of [
      `{"inputs": ${'['.repeat(100000)}NaN${']'.repeat(100000)}}`,
      `{"inputs": ${'['.repeat(300)}1${']'.repeat(300)}}`,
    ]) {
      const response = await app2.inject({ method: 'POST', url: '/v1/models/m:predict', payload });
      assert.equal(response.statusCode, 400, response.body.slice(0, 200));
    }
    await app2.close();
  });

  it("takes bodies over fastify's 1 MiB default, and long model names with REST_FASTIFY_OPTIONS", async () => {
    const name = 'm'.repeat(300);
    const manager2 = new FakeManager().addVersion(name, { version: 1, servable });
    const app2 = fastify(REST_FASTIFY_OPTIONS);
    await registerRestRoutes(app2, { manager: manager2 });
    const payload = `{"inputs": [${new Array(500000).fill('0.25').join(',')}]}`;
    assert.ok(payload.length > 2 ** 21);
    const response = await app2.inject({ method: 'POST', url: `/v1/models/${name}:predict`, payload });
    assert.equal(response.statusCode, 200, response.body.slice(0, 200));
    assert.equal(response.json().outputs.length, 500000);
    await app2.close();
  });

  it('leaves routes outside the plugin alone', async () => {
    const outer = fastify();
    outer.post('/echo', async (request) => request.body);
    await registerRestRoutes(outer, { manager });
    await outer.ready();
    const json = await outer.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
    assert.deepEqual(json.json(), { a: 1 });
    const rest = await outer.inject({ method: 'GET', url: '/v1/models/m' });
    assert.equal(rest.statusCode, 200);
    await outer.close();
  });
});
