import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { service as healthServiceDefinition } from 'grpc-health-check';
import { startGrpcServer, type StartedGrpcServer } from '../../../src/server/grpc/grpc_server';
import { FakeManager } from '../rest/fakes/fake_manager';

/** A plain grpc-js client of grpc.health.v1.Health, as probes and load balancers use it. */
const HealthClient = grpc.makeClientConstructor(healthServiceDefinition, 'grpc.health.v1.Health');

interface HealthStub extends grpc.Client {
  check(
    request: { service: string },
    callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
  ): void;
  watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}

function healthClient(port: number): HealthStub {
  return new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as HealthStub;
}

function check(client: HealthStub, service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.check({ service }, (error, response) => (error ? reject(error) : resolve(response!.status))),
  );
}

/** The first `count` statuses a Watch stream sends, then cancels it. */
function watch(client: HealthStub, service: string, count: number, afterFirst?: () => void): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const statuses: string[] = [];
    const call = client.watch({ service });
    call.on('data', (message: { status: string }) => {
      statuses.push(message.status);
      if (statuses.length === 1) afterFirst?.();
      if (statuses.length === count) {
        call.cancel();
        resolve(statuses);
      }
    });
    call.on('error', (error: grpc.ServiceError) => {
      if (error.code !== grpc.status.CANCELLED) reject(error);
    });
  });
}

describe('grpc.health.v1.Health (--enable_grpc_healthcheck_service)', () => {
  let started: StartedGrpcServer;
  let client: HealthStub;

  before(async () => {
    started = await startGrpcServer(new FakeManager(), { port: 0, channelArguments: {}, enableHealthCheck: true });
    client = healthClient(started.port);
  });
  after(() => {
    client.close();
    started.server.forceShutdown();
  });

  it('reports the whole server (service "") SERVING once it is up', async () => {
    assert.equal(await check(client, ''), 'SERVING');
  });

  it('knows no per-service status, as gRPC C++ default service in TF-Serving: NOT_FOUND', async () => {
    for (const name of ['tensorflow.serving.PredictionService', 'tensorflow.serving.ModelService', 'nope']) {
      await assert.rejects(check(client, name), (error: grpc.ServiceError) => error.code === grpc.status.NOT_FOUND);
    }
  });

  it('Watch sends the current status, and SERVICE_UNKNOWN for an unknown service', async () => {
    assert.deepEqual(await watch(client, '', 1), ['SERVING']);
    assert.deepEqual(await watch(client, 'tensorflow.serving.PredictionService', 1), ['SERVICE_UNKNOWN']);
  });

  it('turns NOT_SERVING for Check and open Watch streams when the server enters shutdown', async () => {
    const own = await startGrpcServer(new FakeManager(), { port: 0, channelArguments: {}, enableHealthCheck: true });
    const ownClient = healthClient(own.port);
    try {
      const statuses = await watch(ownClient, '', 2, () => own.health!.enterShutdown());
      assert.deepEqual(statuses, ['SERVING', 'NOT_SERVING']);
      assert.equal(await check(ownClient, ''), 'NOT_SERVING');
    } finally {
      ownClient.close();
      own.server.forceShutdown();
    }
  });

  it('is absent unless enabled (TF-Serving default): UNIMPLEMENTED', async () => {
    const plain = await startGrpcServer(new FakeManager(), { port: 0, channelArguments: {} });
    const plainClient = healthClient(plain.port);
    try {
      assert.equal(plain.health, undefined);
      await assert.rejects(
        check(plainClient, ''),
        (error: grpc.ServiceError) => error.code === grpc.status.UNIMPLEMENTED,
      );
    } finally {
      plainClient.close();
      plain.server.forceShutdown();
    }
  });
});
