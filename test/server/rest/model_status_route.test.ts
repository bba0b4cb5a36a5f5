import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ServingError } from '../../../src/errors/serving_error';
import { DataType } from '../../../src/tensors/data_type';
import { FakeManager } from './fakes/fake_manager';
import { identityServable, signature, spec } from './fakes/fake_servable';
import { restApp } from './rest_app';

describe('GET /v1/models/NAME (model status)', () => {
  let app: FastifyInstance;
  const servable = identityServable(
    new Map([
      ['serving_default', signature({ x: spec(DataType.DT_FLOAT, [-1]) }, { y: spec(DataType.DT_FLOAT, [-1]) })],
    ]),
    { y: 'x' },
  );
  const manager = new FakeManager()
    .addVersion('half_plus_two', { version: 123, servable })
    .addVersion('m', { version: 1, servable })
    .addVersion('m', { version: 2, state: 'LOADING' })
    .addVersion('m', {
      version: 3,
      state: 'END',
      error: new ServingError('NOT_FOUND', 'Could not find meta graph def matching supplied tags.'),
    })
    .setLabel('m', 'stable', 1);

  before(async () => {
    app = await restApp(manager);
  });
  after(() => app.close());

  it('answers exactly as TF-Serving does', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/models/half_plus_two' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.equal(
      response.body,
      '{\n "model_version_status": [\n  {\n   "version": "123",\n   "state": "AVAILABLE",\n   "status": {\n    "error_code": "OK",\n    "error_message": ""\n   }\n  }\n ]\n}',
    );
  });

  it("lists every version newest first, with a failed version's error", async () => {
    const body = (await app.inject({ method: 'GET', url: '/v1/models/m' })).json();
    assert.deepEqual(body, {
      model_version_status: [
        {
          version: '3',
          state: 'END',
          status: { error_code: 'NOT_FOUND', error_message: 'Could not find meta graph def matching supplied tags.' },
        },
        { version: '2', state: 'LOADING', status: { error_code: 'OK', error_message: '' } },
        { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ],
    });
  });

  it('narrows to one version', async () => {
    const body = (await app.inject({ method: 'GET', url: '/v1/models/m/versions/2' })).json();
    assert.deepEqual(
      body.model_version_status.map((s: { version: string }) => s.version),
      ['2'],
    );
  });

  it('ignores a label, as TF-Serving does (all versions)', async () => {
    const body = (await app.inject({ method: 'GET', url: '/v1/models/m/labels/stable' })).json();
    assert.equal(body.model_version_status.length, 3);
  });

  it('404 for an unknown model or version', async () => {
    const model = await app.inject({ method: 'GET', url: '/v1/models/nope' });
    assert.equal(model.statusCode, 404);
    assert.deepEqual(model.json(), { error: 'Could not find any versions of model nope' });
    const version = await app.inject({ method: 'GET', url: '/v1/models/m/versions/9' });
    assert.equal(version.statusCode, 404);
    assert.deepEqual(version.json(), { error: 'Could not find version 9 of model m' });
  });

  it('400 without a model name, or for a version that is not an int64', async () => {
    const noName = await app.inject({ method: 'GET', url: '/v1/models' });
    assert.equal(noName.statusCode, 400);
    assert.deepEqual(noName.json(), { error: 'Missing model name in request.' });
    const huge = await app.inject({ method: 'GET', url: '/v1/models/m/versions/99999999999999999999' });
    assert.equal(huge.statusCode, 400);
    assert.deepEqual(huge.json(), { error: 'Failed to convert version: 99999999999999999999 to numeric.' });
  });

  it('URL-decodes the model name', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/models/half%5Fplus%5Ftwo' });
    assert.equal(response.statusCode, 200);
  });
});
