/**
 * A chain behind the gRPC and REST APIs: Predict, GetModelMetadata, and per-step timings on
 * request (x-duoserve-chain-timing: 1 -> x-duoserve-step-<step>-us trailers / headers).
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Protos } from '../../../src/protos';
import { startGrpcServer, type StartedGrpcServer } from '../../../src/server/grpc/grpc_server';
import { startRestServer } from '../../../src/server/rest/rest_server';
import { type ChainServer, example, scratchDir, startChainServer, writeChain } from './chain_server';

const CHAIN = `
input { name: "x" }
step { name: "featurize" model: "features" inputs { key: "x" value: "request:x" } }
step { name: "rank" model: "ranker" inputs { key: "features" value: "featurize:features" } }
output { name: "score" source: "rank:score" }
`;

const identity = (buffer: Buffer) => buffer;

interface Reply {
  response: Buffer;
  trailers: grpc.Metadata;
}

function call(
  client: grpc.Client,
  method: string,
  request: Uint8Array,
  metadata = new grpc.Metadata(),
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let response: Buffer | undefined;
    const unary = client.makeUnaryRequest(
      `/tensorflow.serving.PredictionService/${method}`,
      identity,
      identity,
      Buffer.from(request),
      metadata,
      (error, value) => {
        if (error) reject(error);
        else response = value;
      },
    );
    unary.on('status', (status) => {
      if (response) resolve({ response, trailers: status.metadata });
    });
  });
}

function predictRequest(rows: number) {
  return Protos.PredictRequest.encode({
    model_spec: { name: 'features_to_ranker' },
    inputs: {
      x: {
        dtype: 1,
        tensor_shape: { dim: [{ size: rows }, { size: 32 }] },
        float_val: Array.from({ length: rows * 32 }, (_, i) => i / 100),
      },
    },
  }).finish();
}

describe('chains over gRPC and REST', () => {
  let server: ChainServer;
  let grpcServer: StartedGrpcServer;
  let rest: { port: number; close(): Promise<unknown> };
  let client: grpc.Client;
  const scratch = scratchDir();

  before(async () => {
    server = await startChainServer(
      [
        example('features', 'tensorflow'),
        example('ranker', 'pytorch'),
        writeChain(scratch, 'features_to_ranker', { 1: CHAIN }),
      ],
      { scratch: [scratch] },
    );
    await server.waitAvailable('features_to_ranker');
    grpcServer = await startGrpcServer(server.manager, { port: 0, channelArguments: {} });
    rest = await startRestServer(server.manager, { port: 0, timeoutMs: 0 });
    client = new grpc.Client(`127.0.0.1:${grpcServer.port}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    grpcServer.server.forceShutdown();
    await rest.close();
    await server.stop();
  });

  it('answers Predict with typed fields and the chain as the model', async () => {
    const { response, trailers } = await call(client, 'Predict', predictRequest(3));
    const decoded = Protos.PredictResponse.toObject(Protos.PredictResponse.decode(response), { longs: Number }) as {
      outputs: Record<string, { dtype: number; float_val: number[]; tensor_shape: { dim: Array<{ size: number }> } }>;
      model_spec: { name: string; version: { value: number }; signature_name: string };
    };
    assert.deepEqual(decoded.model_spec, {
      name: 'features_to_ranker',
      version: { value: 1 },
      signature_name: 'serving_default',
    });
    assert.equal(decoded.outputs.score.float_val.length, 3);
    assert.deepEqual(
      decoded.outputs.score.tensor_shape.dim.map((dim) => dim.size),
      [3],
    );
    assert.deepEqual(trailers.get('x-duoserve-step-rank-us'), [], 'no timings unless asked');
  });

  it('returns per-step timings as trailing metadata when asked', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-duoserve-chain-timing', '1');
    const { trailers } = await call(client, 'Predict', predictRequest(2), metadata);
    for (const step of ['featurize', 'rank']) {
      const [value] = trailers.get(`x-duoserve-step-${step}-us`);
      assert.match(String(value), /^\d+$/, step);
    }
  });

  it('answers GetModelMetadata with the chain signature', async () => {
    const request = Protos.GetModelMetadataRequest.encode({
      model_spec: { name: 'features_to_ranker' },
      metadata_field: ['signature_def'],
    }).finish();
    const { response } = await call(client, 'GetModelMetadata', request);
    const metadata = Protos.GetModelMetadataResponse.decode(response) as unknown as {
      metadata: { signature_def: { value: Uint8Array } };
    };
    const map = Protos.SignatureDefMap.toObject(Protos.SignatureDefMap.decode(metadata.metadata.signature_def.value), {
      longs: Number,
    }) as {
      signature_def: Record<
        string,
        {
          inputs: Record<string, { name: string; dtype: number; tensor_shape: { dim: Array<{ size: number }> } }>;
          outputs: Record<string, { name: string }>;
        }
      >;
    };
    const signature = map.signature_def.serving_default;
    assert.equal(signature.inputs.x.dtype, 1);
    assert.deepEqual(
      signature.inputs.x.tensor_shape.dim.map((dim) => dim.size),
      [-1, 32],
    );
    assert.equal(signature.outputs.score.name, 'rank:score');
  });

  it('answers REST predict, with timing headers when asked', async () => {
    const body = JSON.stringify({ instances: [Array.from({ length: 32 }, (_, i) => i / 10)] });
    const url = `http://127.0.0.1:${rest.port}/v1/models/features_to_ranker:predict`;
    const plain = await fetch(url, { method: 'POST', body });
    assert.equal(plain.status, 200);
    const { predictions } = (await plain.json()) as { predictions: number[] };
    assert.equal(predictions.length, 1);
    assert.ok(predictions[0] > 0 && predictions[0] < 1);
    assert.equal(plain.headers.get('x-duoserve-step-rank-us'), null);
    const timed = await fetch(url, { method: 'POST', body, headers: { 'x-duoserve-chain-timing': '1' } });
    assert.equal(timed.status, 200);
    assert.match(timed.headers.get('x-duoserve-step-featurize-us') ?? '', /^\d+$/);
    assert.match(timed.headers.get('x-duoserve-step-rank-us') ?? '', /^\d+$/);
  });

  it("leaves REST input shapes to the step's model, which names what does not fit", async () => {
    const body = JSON.stringify({ instances: [[1, 2, 3]] });
    const reply = await fetch(`http://127.0.0.1:${rest.port}/v1/models/features_to_ranker:predict`, {
      method: 'POST',
      body,
    });
    assert.equal(reply.status, 400);
    const { error } = (await reply.json()) as { error: string };
    assert.match(error, /^step 'featurize' \(model features\): .*\b3\b.*\b32\b/s);
  });

  it("answers a failing step with the step's status code and its name", async () => {
    const request = Protos.PredictRequest.encode({
      model_spec: { name: 'features_to_ranker' },
      inputs: { x: { dtype: 1, tensor_shape: { dim: [{ size: 1 }, { size: 31 }] }, float_val: [1] } },
    }).finish();
    await assert.rejects(call(client, 'Predict', request), (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
      assert.match(error.details, /^step 'featurize' \(model features\): /);
      return true;
    });
  });
});
