/**
 * The HTTP probes on bin/duoserve's REST port (/healthz, /readyz): ready once every configured
 * model has an AVAILABLE version. A model added by a config reload with nothing on disk yet makes
 * the server not ready until its first version loads, while grpc.health.v1 keeps TF-Serving's
 * meaning. (Draining: drain.test.ts.)
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  EXAMPLE_MODELS,
  freePort,
  ModelDirs,
  modelConfigText,
  startDuoserve,
  waitUntil,
  type DuoserveProcess,
} from './lifecycle_helpers';

const TF = EXAMPLE_MODELS[0];

async function probe(port: number, probePath: string): Promise<{ status: number; type: string | null; body: string }> {
  const reply = await fetch(`http://127.0.0.1:${port}${probePath}`);
  return { status: reply.status, type: reply.headers.get('content-type'), body: await reply.text() };
}

function healthStatus(target: string): Promise<string> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  const identity = (buffer: Buffer) => buffer;
  const names: Record<string, string> = { '0801': 'SERVING', '0802': 'NOT_SERVING' };
  return new Promise<string>((resolve, reject) =>
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', identity, identity, Buffer.alloc(0), (error, response) =>
      error ? reject(error) : resolve(names[response!.toString('hex')] ?? response!.toString('hex')),
    ),
  ).finally(() => client.close());
}

describe('HTTP probes and grpc.health.v1 on bin/duoserve', { timeout: 120_000 }, () => {
  const dirs = new ModelDirs();
  const configFile = path.join(dirs.root, 'models.config');
  const first = { name: 'first', base_path: dirs.basePath('first'), model_platform: TF.platform };
  const late = { name: 'late', base_path: dirs.basePath('late'), model_platform: TF.platform };
  let server: DuoserveProcess;
  let restPort: number;

  before(async () => {
    dirs.addVersion(first.base_path, TF, 1);
    dirs.writeFile(configFile, modelConfigText([first]));
    restPort = await freePort();
    server = await startDuoserve(
      [
        `--model_config_file=${configFile}`,
        '--model_config_file_poll_wait_seconds=1',
        `--rest_api_port=${restPort}`,
        '--enable_grpc_healthcheck_service',
      ],
      'first',
    );
  });
  after(async () => {
    await server?.stop();
    dirs.cleanUp();
  });

  it('is live and ready once the configured models are AVAILABLE', async () => {
    assert.deepEqual(await probe(restPort, '/healthz'), {
      status: 200,
      type: 'text/plain; charset=utf-8',
      body: 'ok\n',
    });
    assert.deepEqual(await probe(restPort, '/readyz'), {
      status: 200,
      type: 'text/plain; charset=utf-8',
      body: 'ok\n',
    });
    assert.equal(await healthStatus(server.grpcTarget), 'SERVING');
  });

  it('is not ready while a model added by a reload has no AVAILABLE version, ready again once it loads', async () => {
    dirs.writeFile(configFile, modelConfigText([first, late]));
    await waitUntil('readyz answers 503', async () => (await probe(restPort, '/readyz')).status === 503);
    assert.deepEqual(await probe(restPort, '/readyz'), {
      status: 503,
      type: 'text/plain; charset=utf-8',
      body: 'No AVAILABLE version yet of model(s): late\n',
    });
    assert.equal((await probe(restPort, '/healthz')).status, 200, 'still live');
    // grpc.health.v1 keeps TF-Serving's meaning (SERVING once started, until shutdown): a
    // balancer health-checking every replica must not pull them all while one model loads.
    assert.equal(await healthStatus(server.grpcTarget), 'SERVING');

    dirs.addVersion(late.base_path, TF, 1);
    await waitUntil('readyz answers 200', async () => (await probe(restPort, '/readyz')).status === 200);
    assert.equal(await healthStatus(server.grpcTarget), 'SERVING');
  });
});
