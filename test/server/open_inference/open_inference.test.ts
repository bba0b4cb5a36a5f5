/**
 * OpenInference (the Open Inference Protocol's use cases, shared by gRPC and REST) over a real
 * ServerCore: TensorFlow, PyTorch and chain models, raw and typed contents, versions and
 * labels, metadata, readiness, and each refusal with its code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServingError } from '../../../src/errors/serving_error';
import type { HostTensorOutput } from '../../../src/native/backend_addon';
import type { InferInput, InferRequest } from '../../../src/server/open_inference/infer_request';
import { OpenInference } from '../../../src/server/open_inference/open_inference';
import {
  type ChainServer,
  EXAMPLES,
  example,
  scratchDir,
  startChainServer,
  tensorFlowFixture,
} from '../../platforms/chain/chain_server';
import * as fs from 'node:fs';
import * as path from 'node:path';

const NO_PARAMETERS = new Map<string, never>();

function request(modelName: string, inputs: InferInput[], extra: Partial<InferRequest> = {}): InferRequest {
  return { modelName, modelVersion: '', id: 'req-1', parameters: NO_PARAMETERS, inputs, outputs: [], ...extra };
}

function rawFloats(name: string, values: number[], shape = [values.length]): InferInput {
  const raw = new Uint8Array(Float32Array.from(values).buffer);
  return { name, datatype: 'FP32', shape, parameters: NO_PARAMETERS, contents: { raw } };
}

function floatsOf(tensor: HostTensorOutput): number[] {
  return [...new Float32Array(tensor.data!)];
}

async function refused(work: Promise<unknown>, code: string, message: RegExp) {
  await assert.rejects(work, (error: ServingError) => {
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

describe('OpenInference', () => {
  let server: ChainServer;
  let inference: OpenInference;
  let ready: string | undefined = undefined;
  const scratch = scratchDir();
  const platforms = new Map<string, string>();

  before(async () => {
    // Two versions of the PyTorch example, the older one labelled "stable".
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
      tensorFlowFixture('many_dtypes'),
    ];
    for (const model of models) platforms.set(model.name, model.platform);
    server = await startChainServer(models, { scratch: [scratch], allowVersionLabelsForUnavailableModels: true });
    for (const model of models) await server.waitAvailable(model.name);
    await server.waitAvailable('half_plus_two_torch', 2);
    inference = new OpenInference(server.manager, {
      readiness: () => ready,
      platformOf: (model) => platforms.get(model),
    });
  });
  after(() => server?.stop());

  for (const model of ['half_plus_two', 'half_plus_two_torch']) {
    it(`${model}: raw FP32 contents in, the 'host' output out, named by alias`, async () => {
      const response = await inference.infer(request(model, [rawFloats('x', [1, 2, 5])]), {});
      assert.equal(response.modelName, model);
      assert.equal(response.modelVersion, model === 'half_plus_two' ? '1' : '2');
      assert.equal(response.id, 'req-1');
      assert.deepEqual(
        response.outputs.map(({ name, datatype, shape }) => [name, datatype, shape]),
        [['y', 'FP32', [3]]],
      );
      assert.deepEqual(floatsOf(response.outputs[0].tensor), [2.5, 3, 4.5]);
    });
  }

  it('typed values in (gRPC contents, REST JSON data) run as raw ones do', async () => {
    const input: InferInput = {
      name: 'x',
      datatype: 'FP32',
      shape: [3],
      parameters: NO_PARAMETERS,
      contents: { values: [1, 2, 5] },
    };
    const response = await inference.infer(request('half_plus_two', [input]), {});
    assert.deepEqual(floatsOf(response.outputs[0].tensor), [2.5, 3, 4.5]);
  });

  it('a version number, and a version label as the parameter version_label', async () => {
    const byVersion = await inference.infer(
      request('half_plus_two_torch', [rawFloats('x', [1])], { modelVersion: '1' }),
      {},
    );
    assert.equal(byVersion.modelVersion, '1');
    const parameters = new Map([['version_label', 'stable']]);
    const byLabel = await inference.infer(request('half_plus_two_torch', [rawFloats('x', [1])], { parameters }), {});
    assert.equal(byLabel.modelVersion, '1');
    await refused(
      inference.infer(request('half_plus_two_torch', [rawFloats('x', [1])], { modelVersion: '2', parameters }), {}),
      'INVALID_ARGUMENT',
      /not both/,
    );
    await refused(
      inference.infer(request('half_plus_two_torch', [rawFloats('x', [1])], { modelVersion: 'stable' }), {}),
      'INVALID_ARGUMENT',
      /version_label/,
    );
    await refused(
      inference.infer(request('half_plus_two_torch', [rawFloats('x', [1])], { modelVersion: '7' }), {}),
      'NOT_FOUND',
      /half_plus_two_torch/,
    );
  });

  it('a chain is a model like any other (TensorFlow features -> PyTorch ranker)', async () => {
    const rows = 2;
    const values = Array.from({ length: rows * 32 }, (_, i) => (i % 10) / 10);
    const response = await inference.infer(request('features_to_ranker', [rawFloats('x', values, [rows, 32])]), {});
    assert.equal(response.outputs.length, 1);
    assert.equal(response.outputs[0].name, 'score');
    assert.equal(response.outputs[0].datatype, 'FP32');
    assert.equal(response.outputs[0].shape[0], rows);
  });

  it('INT64 (bigints and numbers), BOOL, FP16 raw and BYTES values, with the requested outputs only', async () => {
    const halves = new Uint8Array(new Uint16Array([0x3c00, 0x4000]).buffer); // 1.0, 2.0
    const inputs: InferInput[] = [
      { name: 'ids', datatype: 'INT64', shape: [2], parameters: NO_PARAMETERS, contents: { values: [3n, 4] } },
      { name: 'flags', datatype: 'BOOL', shape: [2], parameters: NO_PARAMETERS, contents: { values: [true, false] } },
      { name: 'halves', datatype: 'FP16', shape: [2], parameters: NO_PARAMETERS, contents: { raw: halves } },
      { name: 'words', datatype: 'BYTES', shape: [2], parameters: NO_PARAMETERS, contents: { values: ['ab', 'c'] } },
    ];
    const outputs = ['ids_tripled', 'flags_negated', 'halves_doubled', 'words_shouted'].map((name) => ({
      name,
      parameters: new Map([['binary_data', true]]),
    }));
    const response = await inference.infer(request('many_dtypes', inputs, { outputs }), {});
    const byName = new Map(response.outputs.map((output) => [output.name, output]));
    assert.deepEqual([...byName.keys()], ['ids_tripled', 'flags_negated', 'halves_doubled', 'words_shouted']);
    assert.deepEqual([...new BigInt64Array(byName.get('ids_tripled')!.tensor.data!)], [9n, 12n]);
    assert.equal(byName.get('flags_negated')!.datatype, 'BOOL');
    assert.deepEqual([...new Uint8Array(byName.get('flags_negated')!.tensor.data!)], [0, 1]);
    assert.equal(byName.get('halves_doubled')!.datatype, 'FP16');
    assert.deepEqual([...new Uint16Array(byName.get('halves_doubled')!.tensor.data!)], [0x4000, 0x4400]);
    assert.equal(byName.get('words_shouted')!.datatype, 'BYTES');
    assert.deepEqual(byName.get('words_shouted')!.tensor.strings!.map(String), ['AB!', 'C!']);
    assert.equal(byName.get('ids_tripled')!.requested?.parameters.get('binary_data'), true);
  });

  it('refuses what cannot be the tensor it says, with INVALID_ARGUMENT', async () => {
    const x = (contents: InferInput['contents'], datatype = 'FP32', shape = [3]): InferInput => ({
      name: 'x',
      datatype,
      shape,
      parameters: NO_PARAMETERS,
      contents,
    });
    const cases: Array<[InferInput[], RegExp]> = [
      [[x({ values: [1, 2, 3] }, 'FP128')], /unknown datatype 'FP128'/],
      [[x({ raw: new Uint8Array(8) })], /raw contents hold 8 bytes, but FP32 of shape \[3\] needs 12/],
      [[x({ values: [1, 2] })], /2 values, but shape \[3\] has 3 elements/],
      [[x({ values: [1, 2, 3] }, 'FP32', [3, -1])], /not a size >= 0/],
      [[x({ values: [1, 2, 3] }, 'INT32')], /Expects arg\[0\] to be float but int32 is provided/],
      [[x({ values: [1, 2, 300] }, 'INT8')], /300 is not a INT8 value/],
      [[x({ values: [1, 0, 1] }, 'BOOL')], /1 is not a BOOL value/],
      [[x({ values: ['1', '2', '3'] })], /1 is not a FP32 value/],
      [[], /input size does not match signature: 0!=1/],
      [[x({ values: [1, 2, 3] }), x({ values: [1, 2, 3] })], /input 'x' is given more than once/],
      [[{ ...x({ values: [1, 2, 3] }), name: 'z' }], /input tensor alias not found in signature: z/],
    ];
    for (const [inputs, message] of cases) {
      await refused(inference.infer(request('half_plus_two', inputs), {}), 'INVALID_ARGUMENT', message);
    }
    const unknownOutput = request('half_plus_two', [rawFloats('x', [1, 2, 3])], {
      outputs: [{ name: 'nope', parameters: NO_PARAMETERS }],
    });
    await refused(
      inference.infer(unknownOutput, {}),
      'INVALID_ARGUMENT',
      /output tensor alias not found in signature: nope/,
    );
    await refused(inference.infer(request('no_such_model', []), {}), 'NOT_FOUND', /no_such_model/);
    await refused(inference.infer(request('', []), {}), 'INVALID_ARGUMENT', /Missing model name/);
    // Still serving.
    const response = await inference.infer(request('half_plus_two', [rawFloats('x', [4])]), {});
    assert.deepEqual(floatsOf(response.outputs[0].tensor), [4]);
  });

  it('model metadata: the default signature as v2 tensors, the AVAILABLE versions, the platform', async () => {
    const torch = await inference.modelMetadata('half_plus_two_torch', '');
    assert.deepEqual(torch.versions, ['1', '2']);
    assert.equal(torch.platform, 'pytorch');
    assert.deepEqual(
      torch.inputs.map((t) => [t.name, t.datatype]),
      [['x', 'FP32']],
    );
    assert.deepEqual(
      torch.outputs.map((t) => [t.name, t.datatype]),
      [['y', 'FP32']],
    );
    const dtypes = await inference.modelMetadata('many_dtypes', '');
    assert.deepEqual(
      dtypes.inputs.map((t) => [t.name, t.datatype, t.shape]).sort(),
      [
        ['flags', 'BOOL', [-1]],
        ['halves', 'FP16', [-1]],
        ['ids', 'INT64', [-1]],
        ['words', 'BYTES', [-1]],
      ].sort(),
    );
    const chain = await inference.modelMetadata('features_to_ranker', '');
    assert.equal(chain.platform, 'chain');
    assert.deepEqual(
      chain.inputs.map((t) => t.name),
      ['x'],
    );
    await refused(inference.modelMetadata('half_plus_two_torch', '9'), 'NOT_FOUND', /half_plus_two_torch/);
    await refused(inference.modelMetadata('nope', ''), 'NOT_FOUND', /nope/);
  });

  it('readiness: a model is ready when the version asked for is AVAILABLE; the server by the readiness rule', () => {
    assert.equal(inference.modelReady('half_plus_two_torch', ''), true);
    assert.equal(inference.modelReady('half_plus_two_torch', '1'), true);
    assert.equal(inference.modelReady('half_plus_two_torch', '3'), false);
    assert.equal(inference.modelReady('nope', ''), false);
    assert.throws(() => inference.modelReady('half_plus_two_torch', 'x'), /version_label/);
    assert.equal(inference.serverLive(), true);
    assert.equal(inference.serverReady(), true);
    ready = 'No AVAILABLE version yet of model(s): m';
    assert.equal(inference.serverReady(), false);
    ready = undefined;
    const metadata = inference.serverMetadata(['binary_tensor_data']);
    assert.equal(metadata.name, 'duoserve');
    assert.match(metadata.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(metadata.extensions, ['binary_tensor_data']);
  });
});
