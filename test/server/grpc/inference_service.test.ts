/**
 * inference.GRPCInferenceService served by the real gRPC server over real models (TensorFlow,
 * PyTorch with two versions and a label, a chain of both), called over a real connection:
 * health, metadata, ModelInfer with raw and typed contents, each refusal with its status code
 * (and the server serving after it), the request metrics, ModelStreamInfer answering in order,
 * UNIMPLEMENTED for what is not served, and no service without an OpenInference.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { metricsRegistry, prometheusName } from '../../../src/monitoring/registry';
import { Protos, protoType } from '../../../src/protos';
import { startGrpcServer, type StartedGrpcServer } from '../../../src/server/grpc/grpc_server';
import { OpenInference } from '../../../src/server/open_inference/open_inference';
import { type ChainServer, EXAMPLES, example, scratchDir, startChainServer } from '../../platforms/chain/chain_server';

const SERVICE = '/inference.GRPCInferenceService/';
const identity = (buffer: Buffer) => buffer;

interface Answer {
  code: grpc.status;
  details: string;
  bytes?: Buffer;
}

interface InferResponseMessage {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Array<{ name: string; datatype: string; shape: number[] }>;
  raw_output_contents: Buffer[];
}

const floats = (buffer: Buffer) => [
  ...new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength)),
];
const rawFloats = (values: number[]) => Buffer.from(Float32Array.from(values).buffer);

/** A ModelInferRequest of x = `values` (FP32, raw contents) for `model`. */
function inferRequest(model: string, values: number[], extra: Record<string, unknown> = {}) {
  return {
    model_name: model,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [values.length] }],
    raw_input_contents: [rawFloats(values)],
    ...extra,
  };
}

describe('inference.GRPCInferenceService', { timeout: 120_000 }, () => {
  const scratch = scratchDir();
  let served: ChainServer;
  let server: StartedGrpcServer;
  let bare: StartedGrpcServer;
  let client: grpc.Client;

  const call = (method: string, type: protobuf.Type, message: object, target = client): Promise<Answer> => {
    const request = Buffer.from(type.encode(type.fromObject(message)).finish());
    return new Promise((resolve) =>
      target.makeUnaryRequest(SERVICE + method, identity, identity, request, (error, bytes) =>
        resolve({ code: error?.code ?? grpc.status.OK, details: error?.details ?? '', bytes }),
      ),
    );
  };
  const answer = async (method: string, type: protobuf.Type, message: object, responseType: protobuf.Type) => {
    const result = await call(method, type, message);
    assert.equal(result.code, grpc.status.OK, result.details);
    return responseType.toObject(responseType.decode(result.bytes!), { longs: Number, defaults: true });
  };
  const infer = async (message: object) =>
    (await answer('ModelInfer', Protos.ModelInferRequest, message, Protos.ModelInferResponse)) as InferResponseMessage;
  const refused = async (message: object, code: grpc.status, words: RegExp) => {
    const result = await call('ModelInfer', Protos.ModelInferRequest, message);
    assert.equal(result.code, code, `${grpc.status[result.code]}: ${result.details}`);
    assert.match(result.details, words);
  };

  before(async () => {
    const torchBase = path.join(scratch, 'half_plus_two_torch');
    for (const version of ['1', '2']) {
      fs.cpSync(path.join(EXAMPLES, 'half_plus_two_torch', '1'), path.join(torchBase, version), { recursive: true });
    }
    const models = [
      example('half_plus_two', 'tensorflow'),
      {
        ...example('half_plus_two_torch', 'pytorch'),
        basePath: torchBase,
        versionPolicy: 'all {}',
        labels: { stable: 1 },
      },
      example('features', 'tensorflow'),
      example('ranker', 'pytorch'),
      { ...example('features_to_ranker', 'tensorflow'), platform: 'chain' },
    ];
    served = await startChainServer(models, { scratch: [scratch], allowVersionLabelsForUnavailableModels: true });
    for (const model of models) await served.waitAvailable(model.name);
    await served.waitAvailable('half_plus_two_torch', 2);
    const platforms = new Map(models.map((model) => [model.name, model.platform]));
    const openInference = new OpenInference(served.manager, { platformOf: (model) => platforms.get(model) });
    const options = { port: 0, listenAddress: '127.0.0.1', channelArguments: {} };
    server = await startGrpcServer(served.manager, { ...options, openInference });
    bare = await startGrpcServer(served.manager, options);
    client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    server?.server.forceShutdown();
    bare?.server.forceShutdown();
    await served?.stop();
  });

  test('ServerLive, ServerReady, ServerMetadata', async () => {
    assert.deepEqual(await answer('ServerLive', Protos.ServerLiveResponse, {}, Protos.ServerLiveResponse), {
      live: true,
    });
    assert.deepEqual(await answer('ServerReady', Protos.ServerReadyResponse, {}, Protos.ServerReadyResponse), {
      ready: true,
    });
    const metadata = await answer('ServerMetadata', Protos.ServerLiveResponse, {}, Protos.ServerMetadataResponse);
    const { version } = JSON.parse(
      fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'package.json'), 'utf8'),
    );
    assert.deepEqual(metadata, { name: 'duoserve', version, extensions: [] });
  });

  test('ModelReady follows the versions AVAILABLE; an unknown model is not ready', async () => {
    const ready = (name: string, version = '') =>
      answer('ModelReady', Protos.ModelReadyRequest, { name, version }, Protos.ModelReadyResponse);
    assert.deepEqual(await ready('half_plus_two'), { ready: true });
    assert.deepEqual(await ready('half_plus_two_torch', '1'), { ready: true });
    assert.deepEqual(await ready('half_plus_two_torch', '3'), { ready: false });
    assert.deepEqual(await ready('nope'), { ready: false });
    const bad = await call('ModelReady', Protos.ModelReadyRequest, { name: 'half_plus_two', version: 'stable' });
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
  });

  test('ModelMetadata: platform, versions, the default signature; NOT_FOUND for an unknown model', async () => {
    const metadata = await answer(
      'ModelMetadata',
      Protos.ModelMetadataRequest,
      { name: 'half_plus_two_torch' },
      Protos.ModelMetadataResponse,
    );
    assert.equal(metadata.name, 'half_plus_two_torch');
    assert.equal(metadata.platform, 'pytorch');
    assert.deepEqual(metadata.versions, ['1', '2']);
    assert.deepEqual(
      metadata.inputs.map((i: { name: string; datatype: string }) => [i.name, i.datatype]),
      [['x', 'FP32']],
    );
    assert.deepEqual(
      metadata.outputs.map((o: { name: string }) => o.name),
      ['y'],
    );
    const chain = await answer(
      'ModelMetadata',
      Protos.ModelMetadataRequest,
      { name: 'features_to_ranker' },
      Protos.ModelMetadataResponse,
    );
    assert.equal(chain.platform, 'chain');
    const unknown = await call('ModelMetadata', Protos.ModelMetadataRequest, { name: 'nope' });
    assert.equal(unknown.code, grpc.status.NOT_FOUND);
  });

  for (const model of ['half_plus_two', 'half_plus_two_torch']) {
    test(`ModelInfer ${model}: raw contents in, raw_output_contents out`, async () => {
      const response = await infer(inferRequest(model, [1, 2, 5], { id: 'r-1' }));
      assert.equal(response.model_name, model);
      assert.equal(response.model_version, model === 'half_plus_two' ? '1' : '2');
      assert.equal(response.id, 'r-1');
      assert.deepEqual(response.outputs, [{ name: 'y', datatype: 'FP32', shape: [3], parameters: {}, contents: null }]);
      assert.deepEqual(floats(response.raw_output_contents[0]), [2.5, 3, 4.5]);
    });
  }

  test('ModelInfer with typed contents, a [2, 1] shape', async () => {
    const response = await infer({
      model_name: 'half_plus_two',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 1], contents: { fp32_contents: [4, 6] } }],
    });
    assert.deepEqual(response.outputs[0].shape, [2, 1]);
    assert.deepEqual(floats(response.raw_output_contents[0]), [4, 5]);
  });

  test('a chain is a model like any other', async () => {
    const values = Array.from({ length: 64 }, (_, i) => (i % 10) / 10);
    const response = await infer({
      model_name: 'features_to_ranker',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 32] }],
      raw_input_contents: [rawFloats(values)],
    });
    assert.deepEqual(
      response.outputs.map((o) => [o.name, o.datatype]),
      [['score', 'FP32']],
    );
    assert.equal(response.raw_output_contents[0].byteLength, response.outputs[0].shape.reduce((a, b) => a * b) * 4);
  });

  test('a version number, and a version label as the parameter version_label', async () => {
    const byVersion = await infer(inferRequest('half_plus_two_torch', [1], { model_version: '1' }));
    assert.equal(byVersion.model_version, '1');
    const byLabel = await infer(
      inferRequest('half_plus_two_torch', [1], { parameters: { version_label: { string_param: 'stable' } } }),
    );
    assert.equal(byLabel.model_version, '1');
    await refused(inferRequest('half_plus_two_torch', [1], { model_version: '9' }), grpc.status.NOT_FOUND, /9/);
  });

  test('each refusal has its status, and the server serves on after it', async () => {
    const x = (fields: object) => ({ model_name: 'half_plus_two', ...fields });
    await refused(inferRequest('nope', [1]), grpc.status.NOT_FOUND, /nope/);
    await refused(
      x({ inputs: [{ name: 'x', datatype: 'INT32', shape: [1] }], raw_input_contents: [Buffer.alloc(4)] }),
      grpc.status.INVALID_ARGUMENT,
      /float|FP32|int32|INT32/i,
    );
    await refused(
      x({ inputs: [{ name: 'x', datatype: 'FP32', shape: [3] }], raw_input_contents: [Buffer.alloc(8)] }),
      grpc.status.INVALID_ARGUMENT,
      /8 bytes.*needs 12/,
    );
    await refused(
      x({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { int_contents: [1] } }] }),
      grpc.status.INVALID_ARGUMENT,
      /of type 'INT32', expected datatype 'FP32'/,
    );
    await refused(x({ inputs: [] }), grpc.status.INVALID_ARGUMENT, /x/);
    await refused(
      inferRequest('half_plus_two', [1], { outputs: [{ name: 'nope' }] }),
      grpc.status.INVALID_ARGUMENT,
      /nope/,
    );
    await refused(
      x({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] }),
      grpc.status.INVALID_ARGUMENT,
      /unable to find data for input tensor 'x'/,
    );
    const bytes = Buffer.from([0x0a, 0xff]); // field 1, a length past the end
    const garbage = await new Promise<Answer>((resolve) =>
      client.makeUnaryRequest(SERVICE + 'ModelInfer', identity, identity, bytes, (error) =>
        resolve({ code: error?.code ?? grpc.status.OK, details: error?.details ?? '' }),
      ),
    );
    assert.equal(garbage.code, grpc.status.INTERNAL);
    assert.match(garbage.details, /Failed to parse inference.ModelInferRequest/);
    const response = await infer(inferRequest('half_plus_two', [1]));
    assert.deepEqual(floats(response.raw_output_contents[0]), [2.5]);
  });

  test("ModelInfer is counted in TF-Serving's request metrics as API ModelInfer, entrypoint GRPC", async () => {
    const count = async () => {
      const line = `${prometheusName('/tensorflow/serving/request_latency')}_count{model_name="half_plus_two_torch",API="ModelInfer",entrypoint="GRPC"} `;
      const found = (await metricsRegistry.metrics()).split('\n').find((l) => l.startsWith(line));
      return found === undefined ? 0 : Number(found.slice(line.length));
    };
    const before = await count();
    await infer(inferRequest('half_plus_two_torch', [1]));
    assert.equal(await count(), before + 1);
  });

  test('ModelStreamInfer answers each request in order, a failed or undecodable one with its error_message', async () => {
    const stream = client.makeBidiStreamRequest(SERVICE + 'ModelStreamInfer', identity, identity);
    const responses: Buffer[] = [];
    stream.on('data', (bytes: Buffer) => responses.push(bytes));
    const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    const send = (message: object) =>
      stream.write(Buffer.from(Protos.ModelInferRequest.encode(Protos.ModelInferRequest.fromObject(message)).finish()));
    // A chain run (slower) first: the quick ones after it still wait for their turn.
    send({
      model_name: 'features_to_ranker',
      id: 'first',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 32] }],
      raw_input_contents: [rawFloats(new Array(32).fill(0.5))],
    });
    send(inferRequest('nope', [1], { id: 'second' }));
    send(inferRequest('half_plus_two', [2], { id: 'third' }));
    stream.write(Buffer.from([0x0a, 0xff])); // no ModelInferRequest
    send(inferRequest('half_plus_two_torch', [4], { id: 'fifth' }));
    stream.end();
    assert.equal((await ended).code, grpc.status.OK);
    const decoded = responses.map(
      (bytes) =>
        Protos.ModelStreamInferResponse.toObject(Protos.ModelStreamInferResponse.decode(bytes), { defaults: true }) as {
          error_message: string;
          infer_response: InferResponseMessage | null;
        },
    );
    assert.deepEqual(
      decoded.map((r) => [r.infer_response?.id ?? null, r.error_message !== '']),
      [
        ['first', false],
        [null, true],
        ['third', false],
        [null, true],
        ['fifth', false],
      ],
    );
    assert.match(decoded[1].error_message, /nope/);
    assert.deepEqual(floats(decoded[2].infer_response!.raw_output_contents[0]), [3]);
    assert.match(decoded[3].error_message, /^Failed to parse inference.ModelInferRequest/);
    assert.deepEqual(floats(decoded[4].infer_response!.raw_output_contents[0]), [4]);
  });

  test('UNIMPLEMENTED: the repository extension, and official RPCs the proto leaves out', async () => {
    const index = await call('RepositoryIndex', Protos.RepositoryIndexRequest, {});
    assert.equal(index.code, grpc.status.UNIMPLEMENTED);
    assert.match(index.details, /model repository extension is not served/);
    const config = await call('ModelConfig', Protos.ModelReadyRequest, { name: 'half_plus_two' });
    assert.equal(config.code, grpc.status.UNIMPLEMENTED);
  });

  test('a server without an OpenInference does not serve the service', async () => {
    const other = new grpc.Client(`127.0.0.1:${bare.port}`, grpc.credentials.createInsecure());
    try {
      const result = await call('ServerLive', protoType('inference.ServerLiveRequest'), {}, other);
      assert.equal(result.code, grpc.status.UNIMPLEMENTED);
    } finally {
      other.close();
    }
  });
});
