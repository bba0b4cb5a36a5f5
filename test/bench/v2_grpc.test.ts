// bench/v2_grpc.ts without servers or timing: the request files ghz sends decode, with the full
// protos, as the messages the benchmark means (the same input both ways), each ghz call names a
// method its proto declares, and the rounds and ratios come out as the report says.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as protobuf from 'protobufjs';
import { type BenchModel, seededValues } from '../../bench/models';
import type { LatencySummary } from '../../bench/stats';
import {
  ghzCall,
  type Measurement,
  mergeRounds,
  parseV2Options,
  v2Ratios,
  writeRequestFiles,
} from '../../bench/v2_grpc';
import { inferRequestOf, ModelInferRequest, ModelInferResponse } from '../../bench/v2_requests';
import { Protos } from '../../src/protos';
import { DataType } from '../../src/tensors/data_type';

const MLP: BenchModel = {
  name: 'mlp_torch',
  platform: 'pytorch',
  size: 'mid',
  versionDir: '/nonexistent/1',
  inputAlias: 'x',
  outputAlias: 'y',
  shape: [8, 512],
  values: seededValues(8 * 512),
};
const TINY: BenchModel = { ...MLP, name: 'half_plus_two', size: 'tiny', shape: [3], values: Float32Array.of(1, 2, 5) };

const OBJECT = { longs: Number, bytes: Buffer, arrays: true, defaults: true } as const;

function floatBytes(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

function requestFiles() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'v2-bench-'));
  return writeRequestFiles([MLP, TINY], dir);
}

describe('v2 bench request files', () => {
  const files = requestFiles();

  for (const model of [MLP, TINY]) {
    it(`${model.name}: the PredictRequest file holds the input as one DT_FLOAT tensor_content`, () => {
      const request = Protos.PredictRequest.toObject(
        Protos.PredictRequest.decode(fs.readFileSync(files.get(model.name)!.predict)),
        OBJECT,
      ) as {
        model_spec: { name: string; signature_name: string };
        inputs: Record<
          string,
          { dtype: number; tensor_shape: { dim: Array<{ size: number }> }; tensor_content: Buffer }
        >;
      };
      assert.equal(request.model_spec.name, model.name);
      assert.equal(request.model_spec.signature_name, 'serving_default');
      assert.deepEqual(Object.keys(request.inputs), ['x']);
      const tensor = request.inputs.x;
      assert.equal(tensor.dtype, DataType.DT_FLOAT);
      assert.deepEqual(
        tensor.tensor_shape.dim.map((dim) => dim.size),
        model.shape,
      );
      assert.ok(tensor.tensor_content.equals(floatBytes(model.values)));
    });

    it(`${model.name}: the ModelInferRequest file holds the same input as FP32 raw_input_contents`, () => {
      const request = ModelInferRequest.toObject(
        ModelInferRequest.decode(fs.readFileSync(files.get(model.name)!.modelInfer)),
        OBJECT,
      ) as {
        model_name: string;
        model_version: string;
        inputs: Array<{ name: string; datatype: string; shape: number[]; contents: unknown }>;
        outputs: unknown[];
        raw_input_contents: Buffer[];
      };
      assert.equal(request.model_name, model.name);
      assert.equal(request.model_version, '');
      assert.equal(request.inputs.length, 1);
      assert.equal(request.inputs[0].name, 'x');
      assert.equal(request.inputs[0].datatype, 'FP32');
      assert.deepEqual(request.inputs[0].shape, model.shape);
      // Raw contents only: no typed contents beside them (the protocol forbids both).
      assert.equal(request.inputs[0].contents, null);
      assert.deepEqual(request.outputs, []);
      assert.equal(request.raw_input_contents.length, 1);
      assert.ok(request.raw_input_contents[0].equals(floatBytes(model.values)));
    });
  }

  it("ghz's opaque ModelInfer messages are wire-identical to the service's (an answer round-trips)", () => {
    const call = ghzCall('model_infer', files.get(MLP.name)!, '127.0.0.1:1', false);
    const opaque = new protobuf.Root().loadSync(call.proto, { keepCase: true });
    const answer = ModelInferResponse.encode(
      ModelInferResponse.fromObject({
        model_name: 'mlp_torch',
        model_version: '1',
        id: 'a',
        parameters: { p: { int64_param: 7 } },
        outputs: [{ name: 'y', datatype: 'FP32', shape: [8, 512], parameters: { q: { bool_param: true } } }],
        raw_output_contents: [floatBytes(MLP.values)],
      }),
    ).finish();
    const type = opaque.lookupType('inference.ModelInferResponse');
    assert.ok(Buffer.from(type.encode(type.decode(answer)).finish()).equals(Buffer.from(answer)));
  });

  it('the in-process InferRequest carries the same bytes as the file', () => {
    const request = inferRequestOf(MLP);
    const contents = request.inputs[0].contents as { raw: Uint8Array };
    assert.ok(Buffer.from(contents.raw).equals(floatBytes(MLP.values)));
    assert.deepEqual(request.inputs[0].shape, [8, 512]);
  });

  it('each ghz call names a method its proto declares, with a request type the file decodes as', () => {
    for (const api of ['predict', 'model_infer'] as const)
      for (const echo of [false, true]) {
        const call = ghzCall(api, files.get(MLP.name)!, '127.0.0.1:1', echo);
        const root = new protobuf.Root();
        root.resolvePath = (_origin, target) =>
          [path.dirname(call.proto), ...call.importPaths].map((dir) => path.join(dir, target)).find(fs.existsSync) ??
          target;
        root.loadSync(call.proto, { keepCase: true });
        root.resolveAll();
        const serviceName = call.method.slice(0, call.method.lastIndexOf('.'));
        const method = root.lookupService(serviceName).methods[call.method.slice(serviceName.length + 1)];
        assert.ok(method, `${call.proto} declares ${call.method}`);
        const decoded = method.resolvedRequestType!.decode(fs.readFileSync(call.binaryFile));
        // Wire-identical: re-encoded with the proto ghz is given, the bytes are the file's.
        assert.ok(
          Buffer.from(method.resolvedRequestType!.encode(decoded).finish()).equals(fs.readFileSync(call.binaryFile)),
          `${api}${echo ? ' echo' : ''}: ${call.proto} round-trips the file`,
        );
      }
  });
});

function summary(throughput: number, p50Us: number, p99Us = p50Us * 2): LatencySummary {
  return { requests: throughput, throughput, p50Us, p99Us, meanUs: p50Us };
}

describe('v2 bench report', () => {
  it('pools rounds per point, the server CPU over all their requests, and keeps each round load', () => {
    const point = { model: 'mlp_torch', contender: 'duoserve' as const, api: 'predict' as const, concurrency: 16 };
    const [merged] = mergeRounds([
      { ...point, round: 1, load: '1.00 1.00 1.00', result: summary(100, 10), serverCpuS: { all: 0.02, js: 0.01 } },
      { ...point, round: 2, load: '2.00 1.00 1.00', result: summary(300, 20), serverCpuS: { all: 0.06, js: 0.03 } },
    ]);
    assert.equal(merged.result!.requests, 400);
    assert.equal(merged.result!.throughput, 200);
    assert.equal(merged.result!.p50Us, 15);
    assert.deepEqual(merged.load, ['1.00 1.00 1.00', '2.00 1.00 1.00']);
    // CPU over all the rounds' requests: 0.08 s / 400 and 0.04 s / 400.
    assert.ok(Math.abs(merged.serverCpu!.allUsPerRequest - 200) < 1e-9);
    assert.ok(Math.abs(merged.serverCpu!.jsUsPerRequest - 100) < 1e-9);
  });

  it('sets the target on ModelInfer raw / Predict req/s, met only when v2 is not slower', () => {
    const at = (api: 'predict' | 'model_infer', throughput: number): Measurement => ({
      model: 'mlp_tf',
      contender: 'duoserve',
      api,
      concurrency: 16,
      load: [],
      result: summary(throughput, 1e6 / throughput),
    });
    const [slower] = v2Ratios([at('predict', 1000), at('model_infer', 900)], ['mlp_tf'], [16]);
    assert.equal(slower.value, 0.9);
    assert.equal(slower.target, '>= 1');
    assert.equal(slower.met, false);
    const [faster, p50] = v2Ratios([at('predict', 1000), at('model_infer', 1250)], ['mlp_tf'], [16]);
    assert.equal(faster.met, true);
    assert.equal(p50.value, 0.8);
  });

  it('reads its flags', () => {
    const options = parseV2Options(['--models=mlp_tf', '--concurrency=1,4', '--rounds=3', '--only=duoserve']);
    assert.deepEqual(options.models, ['mlp_tf']);
    assert.deepEqual(options.concurrencies, [1, 4]);
    assert.equal(options.rounds, 3);
    assert.deepEqual(options.contenders, ['duoserve']);
    assert.throws(() => parseV2Options(['--only=torchserve']), /not one of duoserve, echo, in_process/);
  });
});
