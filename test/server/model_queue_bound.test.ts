/**
 * --duoserve_max_queued_requests_per_model against real models served in process (the example
 * MLP, PyTorch, 788k parameters; half_plus_two, TensorFlow; a chain over the MLP) behind the
 * real gRPC and REST servers: past the bound a request is answered UNAVAILABLE / 503 before the
 * admitted ones finish, other models are unaffected, the places come back as the work settles
 * (a call that gave up on its deadline keeps its place until its run ends), and a chain counts
 * against itself only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { metricsRegistry } from '../../src/monitoring/registry';
import { Protos } from '../../src/protos';
import { startGrpcServer, type StartedGrpcServer } from '../../src/server/grpc/grpc_server';
import { ModelQueueBound } from '../../src/server/model_queue_bound';
import { startRestServer } from '../../src/server/rest/rest_server';
import { type ChainServer, example, scratchDir, startChainServer, writeChain } from '../platforms/chain/chain_server';

const LIMIT = 2;
const WIDTH = 512;
const identity = (buffer: Buffer) => buffer;
const CHAIN = `
input { name: "x" }
step { name: "mlp" model: "mlp" inputs { key: "x" value: "request:x" } }
output { name: "y" source: "mlp:y" }
`;

interface Answer {
  code: grpc.status;
  details: string;
  /** performance.now() when the answer came. */
  at: number;
}

describe('the bound on queued work per model', { timeout: 180_000 }, () => {
  const scratch = scratchDir();
  const bound = new ModelQueueBound(LIMIT);
  let served: ChainServer;
  let grpcServer: StartedGrpcServer;
  let rest: Awaited<ReturnType<typeof startRestServer>>;
  let client: grpc.Client;
  let slowRows = 1024;

  /** Predict on `model` over gRPC: x is [rows, 512] filled from one float_val, so the request is small. */
  const predict = (model: string, rows: number, deadlineMs = 120_000): Promise<Answer> => {
    const x =
      model === 'half_plus_two'
        ? { dtype: 1, tensor_shape: { dim: [{ size: 3 }] }, float_val: [1, 2, 5] }
        : { dtype: 1, tensor_shape: { dim: [{ size: rows }, { size: WIDTH }] }, float_val: [0.25] };
    const request = Buffer.from(Protos.PredictRequest.encode({ model_spec: { name: model }, inputs: { x } }).finish());
    return new Promise((resolve) =>
      client.makeUnaryRequest(
        '/tensorflow.serving.PredictionService/Predict',
        identity,
        identity,
        request,
        new grpc.Metadata({}),
        { deadline: Date.now() + deadlineMs },
        (error) =>
          resolve({ code: error?.code ?? grpc.status.OK, details: error?.details ?? '', at: performance.now() }),
      ),
    );
  };

  const shedCount = async (model: string) => {
    const metric = await metricsRegistry.getSingleMetric('duoserve_model_requests_shed_total')!.get();
    return metric.values.find((value) => value.labels.model_name === model)?.value ?? 0;
  };
  const inFlightGauge = async (model: string) => {
    const metric = await metricsRegistry.getSingleMetric('duoserve_model_requests_in_flight')!.get();
    return metric.values.find((value) => value.labels.model_name === model)?.value;
  };
  const waitUntilIdle = async (model: string) => {
    const until = Date.now() + 60_000;
    while (bound.inFlightOf(model) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(bound.inFlightOf(model), 0, `${model}'s places all came back`);
  };

  before(async () => {
    served = await startChainServer(
      [
        { ...example('mlp_torch', 'pytorch'), name: 'mlp' },
        example('half_plus_two', 'tensorflow'),
        writeChain(scratch, 'mlp_chain', { 1: CHAIN }),
      ],
      { scratch: [scratch] },
    );
    await served.core.waitUntilModelsAvailable();
    grpcServer = await startGrpcServer(served.manager, {
      port: 0,
      listenAddress: '127.0.0.1',
      channelArguments: {},
      queueBound: bound,
    });
    rest = await startRestServer(served.manager, {
      port: 0,
      listenAddress: '127.0.0.1',
      timeoutMs: 0,
      queueBound: bound,
    });
    client = new grpc.Client(`127.0.0.1:${grpcServer.port}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
    });
    // Rows whose run takes 0.3 s or more here: long enough for a burst to arrive while it runs.
    await predict('mlp', slowRows);
    for (;;) {
      const started = performance.now();
      assert.equal((await predict('mlp', slowRows)).code, grpc.status.OK);
      if (performance.now() - started >= 300 || slowRows >= 65536) break;
      slowRows *= 2;
    }
  });
  after(async () => {
    client?.close();
    grpcServer?.server.forceShutdown();
    await rest?.close();
    await served?.stop();
  });

  test('past the bound, UNAVAILABLE at once; other models unaffected; full service after', async () => {
    const shedBefore = await shedCount('mlp');
    const burst = Array.from({ length: LIMIT + 6 }, () => predict('mlp', slowRows));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(bound.inFlightOf('mlp'), LIMIT);
    assert.equal(await inFlightGauge('mlp'), LIMIT);
    const other = await predict('half_plus_two', 3);
    assert.equal(other.code, grpc.status.OK, 'another model is served while this one is full');
    const answers = await Promise.all(burst);
    const ok = answers.filter((answer) => answer.code === grpc.status.OK);
    const shed = answers.filter((answer) => answer.code !== grpc.status.OK);
    assert.equal(ok.length, LIMIT);
    assert.equal(shed.length, 6);
    for (const answer of shed) {
      assert.equal(answer.code, grpc.status.UNAVAILABLE);
      assert.equal(
        answer.details,
        'The request queue of model mlp is full: 2 requests are already waiting or running ' +
          '(--duoserve_max_queued_requests_per_model); retry later',
      );
    }
    // Shed at once: every refusal came before the first admitted run was done.
    assert.ok(Math.max(...shed.map((a) => a.at)) < Math.min(...ok.map((a) => a.at)), 'the excess is not queued');
    assert.equal((await shedCount('mlp')) - shedBefore, 6);
    await waitUntilIdle('mlp');
    assert.equal(await inFlightGauge('mlp'), 0);
    const again = await Promise.all(Array.from({ length: LIMIT }, () => predict('mlp', 1)));
    assert.deepEqual(
      again.map((answer) => answer.code),
      [grpc.status.OK, grpc.status.OK],
    );
  });

  test('one bound for both APIs: REST is answered 503 with the same message while gRPC fills it', async () => {
    const holding = Array.from({ length: LIMIT }, () => predict('mlp', slowRows));
    await new Promise((r) => setTimeout(r, 50));
    const response = await fetch(`http://127.0.0.1:${rest.port}/v1/models/mlp:predict`, {
      method: 'POST',
      body: JSON.stringify({ instances: [Array(WIDTH).fill(0.5)] }),
    });
    assert.equal(response.status, 503);
    assert.match(((await response.json()) as { error: string }).error, /^The request queue of model mlp is full/);
    assert.deepEqual(
      (await Promise.all(holding)).map((answer) => answer.code),
      [grpc.status.OK, grpc.status.OK],
    );
    await waitUntilIdle('mlp');
    const served = await fetch(`http://127.0.0.1:${rest.port}/v1/models/mlp:predict`, {
      method: 'POST',
      body: JSON.stringify({ instances: [Array(WIDTH).fill(0.5)] }),
    });
    assert.equal(served.status, 200);
  });

  test('a call past its deadline keeps its place until its run ends, then gives it back', async () => {
    const expired = await predict('mlp', slowRows, 50);
    assert.equal(expired.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal(bound.inFlightOf('mlp'), 1, 'its run is still going');
    await waitUntilIdle('mlp');
  });

  test("a chain counts against itself, not against its steps' models", async () => {
    const chains = Array.from({ length: LIMIT }, () => predict('mlp_chain', slowRows));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(bound.inFlightOf('mlp_chain'), LIMIT);
    assert.equal(bound.inFlightOf('mlp'), 0, 'the steps take no place of the model they run');
    assert.equal((await predict('mlp_chain', 1)).code, grpc.status.UNAVAILABLE);
    assert.equal((await predict('mlp', 1)).code, grpc.status.OK, 'the model itself is still served');
    assert.deepEqual(
      (await Promise.all(chains)).map((answer) => answer.code),
      [grpc.status.OK, grpc.status.OK],
    );
    await waitUntilIdle('mlp_chain');
  });

  test('unbounded (0) still counts for the gauge and never sheds', async () => {
    const unbounded = new ModelQueueBound(0);
    for (let i = 0; i < 1000; i++) unbounded.admit('m');
    assert.equal(unbounded.inFlightOf('m'), 1000);
    for (let i = 0; i < 1000; i++) unbounded.release('m');
    assert.equal(unbounded.inFlightOf('m'), 0);
  });
});
