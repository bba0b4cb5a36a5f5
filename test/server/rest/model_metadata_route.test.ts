import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DataType } from '../../../src/tensors/data_type';
import { FakeManager } from './fakes/fake_manager';
import { identityServable, signature, spec } from './fakes/fake_servable';
import { restApp } from './rest_app';

describe('GET /v1/models/NAME[/versions/N|/labels/L]/metadata', () => {
  let app: FastifyInstance;
  const signatures = (inputName: string) =>
    new Map([
      [
        'serving_default',
        signature({ x: spec(DataType.DT_FLOAT, [-1, 2], inputName) }, { y: spec(DataType.DT_FLOAT, null, 'y:0') }),
      ],
    ]);
  const manager = new FakeManager()
    .addVersion('m', { version: 1, servable: identityServable(signatures('v1_x:0'), { y: 'x' }) })
    .addVersion('m', { version: 2, servable: identityServable(signatures('v2_x:0'), { y: 'x' }) })
    .setLabel('m', 'stable', 1);

  before(async () => {
    app = await restApp(manager);
  });
  after(() => app.close());

  it('returns the model spec and the SignatureDefMap, as TF-Serving lays them out', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/models/m/metadata' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.ok(
      response.body.startsWith(
        '{\n"model_spec":{\n "name": "m",\n "signature_name": "",\n "version": "2"\n},\n"metadata": {"signature_def": {\n "signature_def": {',
      ),
    );
    const body = response.json();
    assert.deepEqual(body.model_spec, { name: 'm', signature_name: '', version: '2' });
    assert.deepEqual(Object.keys(body.metadata), ['signature_def']);
    const serving = body.metadata.signature_def.signature_def.serving_default;
    assert.equal(serving.method_name, 'tensorflow/serving/predict');
    assert.deepEqual(serving.inputs.x, {
      dtype: 'DT_FLOAT',
      tensor_shape: {
        dim: [
          { size: '-1', name: '' },
          { size: '2', name: '' },
        ],
        unknown_rank: false,
      },
      name: 'v2_x:0',
    });
    assert.deepEqual(serving.outputs.y.tensor_shape, { dim: [], unknown_rank: true });
    assert.equal(manager.outstanding, 0);
  });

  it('by version and by label', async () => {
    const byVersion = (await app.inject({ method: 'GET', url: '/v1/models/m/versions/1/metadata' })).json();
    assert.equal(byVersion.model_spec.version, '1');
    assert.equal(byVersion.metadata.signature_def.signature_def.serving_default.inputs.x.name, 'v1_x:0');
    const byLabel = (await app.inject({ method: 'GET', url: '/v1/models/m/labels/stable/metadata' })).json();
    assert.equal(byLabel.model_spec.version, '1');
  });

  it('404 for an unknown model, version or label, releasing nothing it did not take', async () => {
    for (const url of [
      '/v1/models/nope/metadata',
      '/v1/models/m/versions/7/metadata',
      '/v1/models/m/labels/canary/metadata',
    ]) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 404, url);
      assert.equal(typeof response.json().error, 'string');
    }
    assert.equal(manager.outstanding, 0);
  });
});
