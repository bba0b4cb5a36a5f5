/**
 * SIGTERM drains bin/duoserve: the requests it is running when the signal comes all finish OK,
 * over gRPC and REST; new ones are refused at once (gRPC UNAVAILABLE, HTTP 503), health
 * reports NOT_SERVING and /readyz 503 (/healthz still 200); then the process exits 0. Requests still running when the grace period
 * is over are cut; a second signal exits at once.
 * The slow requests are real work: the example MLP (788k parameters) over a few thousand rows.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Protos } from '../../src/protos';
import { freePort, REPO_ROOT, startDuoserve, type DuoserveProcess } from './lifecycle_helpers';

const MLP = path.join(REPO_ROOT, 'var', 'models', 'examples', 'mlp_torch');
const WIDTH = 512;
const identity = (buffer: Buffer) => buffer;
const UNLIMITED = { 'grpc.max_receive_message_length': -1 };

function rows(count: number): Float32Array {
  const values = new Float32Array(count * WIDTH);
  for (let i = 0; i < values.length; i++) values[i] = Math.sin(i) / 4;
  return values;
}

/** Predict over gRPC with x as tensor_content; resolves with the number of rows answered. */
function grpcPredict(client: grpc.Client, x: Float32Array): Promise<number> {
  const request = Protos.PredictRequest.encode({
    model_spec: { name: 'mlp' },
    inputs: {
      x: {
        dtype: 1,
        tensor_shape: { dim: [{ size: x.length / WIDTH }, { size: WIDTH }] },
        tensor_content: Buffer.from(x.buffer, x.byteOffset, x.byteLength),
      },
    },
  }).finish();
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      '/tensorflow.serving.PredictionService/Predict',
      identity,
      identity,
      Buffer.from(request),
      new grpc.Metadata(),
      { deadline: Date.now() + 60_000 },
      (error, response) => {
        if (error) return reject(error);
        const y = Protos.PredictResponse.toObject(Protos.PredictResponse.decode(response!), { longs: Number }).outputs
          .y;
        resolve(y.tensor_shape.dim[0].size);
      },
    ),
  );
}

async function restPredict(port: number, x: Float32Array): Promise<{ status: number; body: any }> {
  const instances = [];
  for (let row = 0; row < x.length / WIDTH; row++)
    instances.push(Array.from(x.subarray(row * WIDTH, (row + 1) * WIDTH)));
  const response = await fetch(`http://127.0.0.1:${port}/v1/models/mlp:predict`, {
    method: 'POST',
    body: JSON.stringify({ instances }),
  });
  return { status: response.status, body: await response.json() };
}

/** grpc.health.v1.Health/Check for the whole server (service "", an empty request). */
function healthStatus(client: grpc.Client): Promise<string> {
  const STATUS_NAMES: Record<string, string> = { '0801': 'SERVING', '0802': 'NOT_SERVING' };
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', identity, identity, Buffer.alloc(0), (error, response) =>
      error ? reject(error) : resolve(STATUS_NAMES[response!.toString('hex')] ?? response!.toString('hex')),
    ),
  );
}

const exitOf = (server: DuoserveProcess) =>
  new Promise<number | null>((resolve) =>
    server.process.exitCode !== null
      ? resolve(server.process.exitCode)
      : server.process.once('exit', (code) => resolve(code)),
  );

describe('bin/duoserve on SIGTERM', { timeout: 120_000 }, () => {
  it('finishes every running request, refuses new ones, reports NOT_SERVING, exits 0', async () => {
    const restPort = await freePort();
    const server = await startDuoserve(
      [
        `--model_name=mlp`,
        `--model_base_path=${MLP}`,
        `--rest_api_port=${restPort}`,
        '--enable_grpc_healthcheck_service',
      ],
      'mlp',
    );
    const grpcPort = Number(/--port=(\d+)/.exec(server.process.spawnargs.join(' '))![1]);
    const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), UNLIMITED);
    try {
      const GRPC_CALLS = 5;
      const REST_CALLS = 5;
      // Work that outlasts the checks below even on an idle machine (~1-3 s here).
      const grpcRows = 6000;
      const restRows = 1200;
      const started = Date.now();
      const grpcCalls = Array.from({ length: GRPC_CALLS }, () => grpcPredict(client, rows(grpcRows)));
      const restCalls = Array.from({ length: REST_CALLS }, () => restPredict(restPort, rows(restRows)));
      const settled = Promise.allSettled([...grpcCalls, ...restCalls]);
      await new Promise((resolve) => setTimeout(resolve, 500)); // all sent, none answered yet
      const exited = exitOf(server);
      server.process.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 100));

      // While they run: new requests are refused, health says NOT_SERVING.
      const refused = await grpcPredict(client, rows(1)).then(
        () => 'answered',
        (error: grpc.ServiceError) => error.code,
      );
      assert.equal(refused, grpc.status.UNAVAILABLE);
      const refusedRest = await restPredict(restPort, rows(1));
      assert.equal(refusedRest.status, 503);
      assert.match(refusedRest.body.error, /shutting down/);
      assert.equal(await healthStatus(client), 'NOT_SERVING');
      // The probes still answer: not ready (Kubernetes stops routing here), but live (not restarted).
      const readyz = await fetch(`http://127.0.0.1:${restPort}/readyz`);
      assert.deepEqual([readyz.status, await readyz.text()], [503, 'The server is shutting down\n']);
      assert.equal((await fetch(`http://127.0.0.1:${restPort}/healthz`)).status, 200);
      assert.equal(server.process.exitCode, null, 'the server waits for its running requests');

      const outcomes = await settled;
      const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
      assert.deepEqual(failures, [], 'every request running at SIGTERM finishes');
      const values = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value);
      assert.deepEqual(values.slice(0, GRPC_CALLS), Array(GRPC_CALLS).fill(grpcRows));
      for (const rest of values.slice(GRPC_CALLS) as Array<{ status: number; body: any }>) {
        assert.equal(rest.status, 200);
        assert.equal(rest.body.predictions.length, restRows);
      }
      const finishedMs = Date.now() - started;
      assert.equal(await exited, 0, server.output());
      assert.match(server.output(), /SIGTERM: shutting down; \d+ running request\(s\) get up to 25 s to finish/);
      console.log(
        `# ${GRPC_CALLS} gRPC + ${REST_CALLS} REST calls in flight at SIGTERM, all OK after ${finishedMs} ms`,
      );
    } finally {
      client.close();
      await server.stop();
    }
  });

  it('cuts what still runs when the grace period is over, and exits 0', async () => {
    const server = await startDuoserve(
      [`--model_name=mlp`, `--model_base_path=${MLP}`, '--duoserve_shutdown_grace_period_seconds=0'],
      'mlp',
    );
    const grpcPort = Number(/--port=(\d+)/.exec(server.process.spawnargs.join(' '))![1]);
    const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), UNLIMITED);
    try {
      const running = Array.from({ length: 4 }, () =>
        grpcPredict(client, rows(3000)).then(
          () => 'OK',
          (error) => error.code,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const exited = exitOf(server);
      server.process.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(server.output(), /Grace period over: cutting [1-9]\d* request\(s\) still running/);
      assert.ok((await Promise.all(running)).some((outcome) => outcome !== 'OK'));
    } finally {
      client.close();
      await server.stop();
    }
  });

  it('a second signal exits at once, without waiting', async () => {
    const server = await startDuoserve([`--model_name=mlp`, `--model_base_path=${MLP}`], 'mlp');
    const grpcPort = Number(/--port=(\d+)/.exec(server.process.spawnargs.join(' '))![1]);
    const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), UNLIMITED);
    try {
      // Enough work that the drain is still waiting when the second signal comes (~1 s here).
      const running = Array.from({ length: 12 }, () => grpcPredict(client, rows(4000)).catch((error) => error.code));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const exited = exitOf(server);
      server.process.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 100));
      server.process.kill('SIGTERM');
      assert.equal(await exited, 1);
      assert.match(server.output(), /SIGTERM again: exiting without waiting for \d+ running request\(s\)/);
      await Promise.all(running);
    } finally {
      client.close();
      await server.stop();
    }
  });
});
