/**
 * proto/inference/grpc_service.proto is written from wire facts; this proves it matches the
 * descriptors of the stock tritonclient package (tritonclient.grpc.service_pb2, the Open
 * Inference Protocol's gRPC API as Triton and KServe clients call it): every message and field
 * we declare has the official name, number, type and cardinality, every RPC its official
 * request, response and streaming, and every official RPC we leave out is listed with the
 * reason (grpc-js answers it UNIMPLEMENTED).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { protoRoot } from '../../src/protos';
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
