import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CORS_HEADERS } from '../../../src/server/rest/cors';
import { DataType } from '../../../src/tensors/data_type';
import { FakeManager } from './fakes/fake_manager';
import { identityServable, signature, spec } from './fakes/fake_servable';
import { restApp } from './rest_app';

const servable = identityServable(
  new Map([['serving_default', signature({ x: spec(DataType.DT_FLOAT, null) }, { y: spec(DataType.DT_FLOAT, null) })]]),
  { y: 'x' },
);
const manager = new FakeManager().addVersion('m', { version: 1, servable });

function corsHeadersOf(headers: Record<string, unknown>) {
  return Object.fromEntries(Object.keys(CORS_HEADERS).map((name) => [name, headers[name]]));
}

describe('--rest_api_enable_cors_support', () => {
  let app: FastifyInstance;
  let plain: FastifyInstance;
  before(async () => {
    app = await restApp(manager, { enableCorsSupport: true, bodyLimit: 64 });
    plain = await restApp(manager);
  });
  after(async () => {
    await app.close();
    await plain.close();
  });

  it("adds TF-Serving's three headers to successes and errors alike", async () => {
    const replies = [
      await app.inject({ method: 'GET', url: '/v1/models/m' }),
      await app.inject({ method: 'POST', url: '/v1/models/m:predict', payload: '{"inputs": [1]}' }),
      await app.inject({ method: 'GET', url: '/v1/models/nope' }),
      await app.inject({ method: 'PUT', url: '/v1/models/m', payload: '{}' }),
      await app.inject({ method: 'POST', url: '/v1/models/m:predict', payload: `{"inputs": [${'1,'.repeat(64)}1]}` }),
    ];
    assert.deepEqual(
      replies.map((reply) => reply.statusCode),
      [200, 200, 404, 400, 413],
    );
    for (const reply of replies) assert.deepEqual(corsHeadersOf(reply.headers), CORS_HEADERS);
  });

  it('answers a preflight with an http(s) Origin 200 and no body, without one 400 and no body', async () => {
    for (const target of [app, plain]) {
      const ok = await target.inject({
        method: 'OPTIONS',
        url: '/v1/models/m:predict',
        headers: { origin: 'https://example.com', 'access-control-request-method': 'POST' },
      });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.body, '');
      const refused = await target.inject({ method: 'OPTIONS', url: '/v1/models/m', headers: { origin: 'null' } });
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.body, '');
      assert.deepEqual(corsHeadersOf(ok.headers), target === app ? CORS_HEADERS : corsHeadersOf({}));
      assert.deepEqual(corsHeadersOf(refused.headers), target === app ? CORS_HEADERS : corsHeadersOf({}));
    }
  });

  it('adds no headers when off, as TF-Serving by default', async () => {
    const reply = await plain.inject({ method: 'GET', url: '/v1/models/m' });
    assert.equal(reply.statusCode, 200);
    assert.deepEqual(corsHeadersOf(reply.headers), corsHeadersOf({}));
  });
});
