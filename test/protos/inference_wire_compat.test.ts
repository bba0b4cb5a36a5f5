/**
 * proto/inference/grpc_service.proto is written from wire facts; this proves it matches the
 * descriptors of the stock tritonclient package (tritonclient.grpc.service_pb2, the Open
 * Inference Protocol's gRPC API as Triton and KServe clients call it): every message and field
 * we declare has the official name, number, type and cardinality, every RPC its official
 * request, response and streaming, and every official RPC we leave out is listed with the
 * reason (grpc-js answers it UNIMPLEMENTED). Then bytes travel both ways between tritonclient and
 * the gRPC transport's own decoder and encoder (src/server/grpc/model_infer_request.ts,
 * infer_response.ts).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { HostTensorHandle } from '../../src/native/backend_addon';
import { rawOutputOf } from '../../src/native/output_encoding';
import { Protos, protoRoot } from '../../src/protos';
import { encodeInferResponse, encodeStreamInferResponse } from '../../src/server/grpc/infer_response';
import { inferRequestOf, type ModelInferRequestMessage } from '../../src/server/grpc/model_infer_request';
import type { InferInput, InferResponse } from '../../src/server/open_inference/infer_request';
import { definitionsOf, messageProblems, methodProblems, omittedFields, strip } from './descriptor_diff';
import { officialBatch, OfficialDescriptors } from './official_protos';

const SERVICE = 'inference.GRPCInferenceService';

/** Official RPCs proto/ does not declare: grpc-js answers them UNIMPLEMENTED. */
const OMITTED_METHODS: Record<string, string> = {
  ModelConfig: "Triton's model configuration (config.pbtxt); duoserve's models are configured by ModelServerConfig",
  ModelStatistics: "Triton's per-model statistics; duoserve's are TF-Serving's Prometheus metrics",
  SystemSharedMemoryStatus: 'the shared-memory extension is not served',
  SystemSharedMemoryRegister: 'the shared-memory extension is not served',
  SystemSharedMemoryUnregister: 'the shared-memory extension is not served',
  CudaSharedMemoryStatus: 'the CUDA shared-memory extension is not served (duoserve is a CPU server)',
  CudaSharedMemoryRegister: 'the CUDA shared-memory extension is not served (duoserve is a CPU server)',
  CudaSharedMemoryUnregister: 'the CUDA shared-memory extension is not served (duoserve is a CPU server)',
  TraceSetting: "Triton's trace extension is not served",
  LogSettings: "Triton's logging extension is not served",
};

const ours = definitionsOf(protoRoot, (name) => name.startsWith('inference.'));

describe('proto/inference matches tritonclient.grpc.service_pb2', () => {
  let descriptors: OfficialDescriptors;

  before(() => {
    const names = [...ours.types, ...ours.enums, ...ours.services].map((d) => strip(d.fullName));
    [descriptors] = officialBatch([{ command: 'describe', args: names }]);
  });

  test('the package declares the service and the messages its RPCs carry', () => {
    assert.deepEqual(
      ours.services.map((s) => strip(s.fullName)),
      [SERVICE],
    );
    assert.ok(ours.types.length >= 25, `only ${ours.types.length} messages found`);
  });

  test('every message we declare exists officially under the same full name', () => {
    assert.deepEqual(descriptors.missing, []);
  });

  test('every field we declare matches the official one exactly', () => {
    assert.deepEqual(messageProblems(ours.types, descriptors), []);
  });

  test('no official field is left out of a message we declare', () => {
    assert.deepEqual(omittedFields(ours.types, descriptors), {});
  });

  test('every RPC we declare has the official request, response and streaming; those left out are listed', () => {
    const { problems, missing } = methodProblems(ours.services[0], descriptors);
    assert.deepEqual(problems, []);
    assert.deepEqual(missing.sort(), Object.keys(OMITTED_METHODS).sort());
  });
});

/** What tritonclient wrote and read, from one Python run. */
interface TritonAnswers {
  requests: { raw: string; typed: string };
  result: { model_name: string; model_version: string; id: string; outputs: Record<string, unknown> };
}

const HANDLE = {} as HostTensorHandle;
const bytesOf = (view: ArrayBufferView) =>
  (view.buffer as ArrayBuffer).slice(view.byteOffset, view.byteOffset + view.byteLength);

/** A response with one output of each kind: numeric, BYTES, BOOL, empty, half floats (raw only). */
const HOST_RESPONSE: InferResponse = {
  modelName: 'mödel',
  modelVersion: '12',
  id: 'req-7',
  outputs: [
    {
      name: 'y',
      datatype: 'FP32',
      shape: [2, 2],
      tensor: { dtype: 1, shape: [2, 2], data: bytesOf(new Float32Array([1.5, -2, 0.25, 1e30])), handle: HANDLE },
    },
    {
      name: 'words',
      datatype: 'BYTES',
      shape: [3],
      tensor: {
        dtype: 7,
        shape: [3],
        strings: [Buffer.from('héllo'), Buffer.alloc(0), Buffer.alloc(300, 7)],
        handle: HANDLE,
      },
    },
    {
      name: 'flags',
      datatype: 'BOOL',
      shape: [2],
      tensor: { dtype: 10, shape: [2], data: bytesOf(new Uint8Array([1, 0])), handle: HANDLE },
    },
    {
      name: 'none',
      datatype: 'INT64',
      shape: [0, 3],
      tensor: { dtype: 9, shape: [0, 3], data: new ArrayBuffer(0), handle: HANDLE },
    },
    {
      name: 'big',
      datatype: 'UINT64',
      shape: [2],
      tensor: { dtype: 23, shape: [2], data: bytesOf(new BigUint64Array([2n ** 64n - 1n, 5n])), handle: HANDLE },
    },
  ],
};
/** The same, as the gRPC transport gets it: 'raw' outputs. */
const RESPONSE: InferResponse<'raw'> = {
  ...HOST_RESPONSE,
  outputs: HOST_RESPONSE.outputs.map((output) => ({ ...output, tensor: rawOutputOf(output.tensor) })),
};

describe('ModelInferRequest and ModelInferResponse bytes between tritonclient and the gRPC transport', () => {
  let answers: TritonAnswers;

  before(() => {
    const response = Buffer.from(encodeInferResponse(RESPONSE)).toString('base64');
    const [requests, result] = officialBatch([
      { command: 'encode-infer' },
      { command: 'infer-result', args: [response] },
    ]);
    answers = { requests, result };
  });

  const decode = (base64: string) => {
    const bytes = Buffer.from(base64, 'base64');
    return {
      bytes,
      request: inferRequestOf(Protos.ModelInferRequest.decode(bytes) as unknown as ModelInferRequestMessage),
    };
  };
  const input = (inputs: InferInput[], name: string) => inputs.find((i) => i.name === name)!;

  test("tritonclient's raw contents arrive as views of the request bytes, paired with their inputs", () => {
    const { bytes, request } = decode(answers.requests.raw);
    assert.equal(request.modelName, 'm');
    assert.equal(request.modelVersion, '2');
    assert.equal(request.id, 'req-1');
    assert.deepEqual(
      request.inputs.map((i) => [i.name, i.datatype, i.shape]),
      [
        ['x', 'FP32', [1, 3]],
        ['n', 'INT64', [2]],
        ['s', 'BYTES', [3]],
        ['b', 'BOOL', [2]],
      ],
    );
    const raw = (name: string) => (input(request.inputs, name).contents as { raw: Uint8Array }).raw;
    for (const { name } of request.inputs) {
      // A view: within the request's bytes, and it sees a change made to them.
      const view = raw(name);
      const at = view.byteOffset - bytes.byteOffset;
      assert.ok(view.buffer === bytes.buffer && at >= 0 && at + view.byteLength <= bytes.byteLength, name);
      const before = bytes[at];
      bytes[at] ^= 0xff;
      assert.equal(view[0], before ^ 0xff, `${name}: not a view of the request`);
      bytes[at] = before;
    }
    assert.deepEqual([...new Float32Array(bytesOf(raw('x')))], [1.5, -2, 3.25]);
    assert.deepEqual([...new BigInt64Array(bytesOf(raw('n')))], [2n ** 53n + 1n, -(2n ** 62n)]);
    assert.deepEqual(
      Buffer.from(raw('s')),
      Buffer.concat([
        Buffer.from([1, 0, 0, 0]),
        Buffer.from('a'),
        Buffer.alloc(4),
        Buffer.from([5, 0, 0, 0]),
        Buffer.from('été'),
      ]),
    );
    assert.deepEqual([...raw('b')], [1, 0]);
    assert.deepEqual(request.outputs, [{ name: 'y', parameters: new Map() }]);
    assert.deepEqual(
      request.parameters,
      new Map<string, unknown>([
        ['on', true],
        ['version_label', 'stable'],
        ['big', 2n ** 60n],
        ['ratio', 0.5],
      ]),
    );
  });

  test('typed contents arrive as values, 64-bit integers exactly', () => {
    const { request } = decode(answers.requests.typed);
    const values = (name: string) => (input(request.inputs, name).contents as { values: unknown }).values;
    assert.deepEqual(values('i64'), [2n ** 63n - 1n, -(2n ** 63n)]);
    assert.deepEqual(values('u64'), [2n ** 64n - 1n, 7]);
    assert.deepEqual(values('i8'), [-128, 127]);
    assert.deepEqual(values('f64'), [0.1]);
    assert.deepEqual(values('bool'), [true, false, true]);
    assert.deepEqual(
      (values('bytes') as Buffer[]).map((b) => [...b]),
      [[0xff, 0], [0x7a]],
    );
    assert.deepEqual(request.parameters, new Map([['u', 2n ** 64n - 1n]]));
  });

  test("tritonclient's InferResult reads the outputs written into raw_output_contents", () => {
    assert.deepEqual(answers.result, {
      model_name: 'mödel',
      model_version: '12',
      id: 'req-7',
      outputs: {
        y: { datatype: 'FP32', shape: [2, 2], values: [1.5, -2, 0.25, Math.fround(1e30)] },
        words: {
          datatype: 'BYTES',
          shape: [3],
          values: [Buffer.from('héllo'), Buffer.alloc(0), Buffer.alloc(300, 7)].map((b) => b.toString('base64')),
        },
        flags: { datatype: 'BOOL', shape: [2], values: [true, false] },
        none: { datatype: 'INT64', shape: [0, 3], values: [] },
        big: { datatype: 'UINT64', shape: [2], values: [2 ** 64 - 1, 5] },
      },
    });
  });

  test('the hand-written response is the bytes protobufjs writes for the same message', () => {
    const rawOf = (tensor: InferResponse['outputs'][number]['tensor']) =>
      tensor.strings
        ? Buffer.concat(tensor.strings.flatMap((s) => [Buffer.from(new Uint32Array([s.length]).buffer), s]))
        : Buffer.from(tensor.data!);
    const message = {
      model_name: RESPONSE.modelName,
      model_version: RESPONSE.modelVersion,
      id: RESPONSE.id,
      outputs: RESPONSE.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
      raw_output_contents: HOST_RESPONSE.outputs.map((output) => rawOf(output.tensor)),
    };
    const expected = Protos.ModelInferResponse.encode(message).finish();
    assert.deepEqual(encodeInferResponse(RESPONSE), Buffer.from(expected));
    const empty = { modelName: '', modelVersion: '', id: '', outputs: [] };
    assert.deepEqual(encodeInferResponse(empty), Buffer.alloc(0));
    const stream = Protos.ModelStreamInferResponse.encode({ infer_response: message }).finish();
    assert.deepEqual(encodeStreamInferResponse(RESPONSE), Buffer.from(stream));
  });
});

describe("what only the gRPC form can get wrong is refused, in Triton's words", () => {
  const base = (): ModelInferRequestMessage => ({
    model_name: 'm',
    model_version: '',
    id: '',
    parameters: {},
    outputs: [],
    raw_input_contents: [],
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: {}, contents: null }],
  });
  const contents = (fields: Partial<Record<string, unknown[]>>) =>
    ({
      bool_contents: [],
      int_contents: [],
      int64_contents: [],
      uint_contents: [],
      uint64_contents: [],
      fp32_contents: [],
      fp64_contents: [],
      bytes_contents: [],
      ...fields,
    }) as never;
  const refused = (message: ModelInferRequestMessage, words: RegExp) =>
    assert.throws(
      () => inferRequestOf(message),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.match(error.message, words);
        return true;
      },
    );

  test('an input with neither contents nor raw contents', () => {
    refused(base(), /^unable to find data for input tensor 'x' for model 'm' in request\.$/);
  });

  test('typed and raw contents together', () => {
    const message = base();
    message.inputs[0].contents = contents({ fp32_contents: [1] });
    message.raw_input_contents = [Buffer.alloc(4)];
    refused(message, /^contents field must not be specified when using raw_input_contents for 'x' for model 'm'$/);
  });

  test('raw contents for some inputs only', () => {
    const message = base();
    message.inputs.push({ ...message.inputs[0], name: 'z' });
    message.raw_input_contents = [Buffer.alloc(4)];
    refused(message, /^expected 2 raw_input_contents, one for each input, for model 'm', got 1$/);
  });

  test("typed contents in another datatype's field", () => {
    const message = base();
    message.inputs[0].contents = contents({ int_contents: [1] });
    refused(
      message,
      /^unexpected explicit tensor data for input tensor 'x' for model 'm' of type 'INT32', expected datatype 'FP32'$/,
    );
  });

  test('two typed fields at once', () => {
    const message = base();
    message.inputs[0].contents = contents({ fp32_contents: [1], fp64_contents: [1] });
    refused(message, /more than one contents field is set/);
  });

  test('FP16 has no typed field', () => {
    const message = base();
    message.inputs[0].datatype = 'FP16';
    message.inputs[0].contents = contents({ fp32_contents: [1] });
    refused(message, /of type 'FP32', expected datatype 'FP16'/);
  });
});
