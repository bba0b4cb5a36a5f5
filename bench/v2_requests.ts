/**
 * The Open Inference Protocol's side of bench/v2_grpc.ts: the serialized ModelInferRequest of a
 * bench model (its input as raw_input_contents, FP32, row-major little-endian), the in-process
 * InferRequest carrying the same bytes, and the answers read back for the check before timing.
 * The messages come from proto/inference/grpc_service.proto, the service's own proto.
 */
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import type { InferRequest, InferResponse } from '../src/server/open_inference/infer_request';
import type { BenchModel } from './models';
import { REPO_ROOT } from './options';
import type { DenseTensor } from './payloads';

const INFERENCE_PROTO = path.join(REPO_ROOT, 'proto', 'inference', 'grpc_service.proto');
export const MODEL_INFER_METHOD = 'inference.GRPCInferenceService.ModelInfer';
export const MODEL_INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';

const root = new protobuf.Root().loadSync(INFERENCE_PROTO, { keepCase: true });
export const ModelInferRequest = root.lookupType('inference.ModelInferRequest');
export const ModelInferResponse = root.lookupType('inference.ModelInferResponse');

function bytesOf(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** The model's input as one FP32 tensor in raw_input_contents; every output of the signature. */
export function modelInferRequestBytes(model: BenchModel): Buffer {
  const message = ModelInferRequest.fromObject({
    model_name: model.name,
    inputs: [{ name: model.inputAlias, datatype: 'FP32', shape: model.shape }],
    raw_input_contents: [bytesOf(model.values)],
  });
  const bytes = ModelInferRequest.encode(message).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The same request as a transport hands it to OpenInference.infer (the bytes viewed, not copied). */
export function inferRequestOf(model: BenchModel): InferRequest {
  return {
    modelName: model.name,
    modelVersion: '',
    id: '',
    parameters: new Map(),
    inputs: [
      {
        name: model.inputAlias,
        datatype: 'FP32',
        shape: model.shape,
        parameters: new Map(),
        contents: { raw: bytesOf(model.values) },
      },
    ],
    outputs: [],
  };
}

function floats(bytes: Uint8Array, shape: number[], what: string): DenseTensor {
  const count = shape.reduce((product, size) => product * size, 1);
  if (bytes.byteLength !== count * 4) throw new Error(`${what}: ${bytes.byteLength} bytes for FP32 [${shape}]`);
  // Copied: the wire buffer need not be 4-byte aligned.
  return { shape, values: new Float32Array(Uint8Array.from(bytes).buffer) };
}

interface InferOutputTensorObject {
  name: string;
  datatype: string;
  shape: number[];
}

/** Output `alias` of a serialized ModelInferResponse, from raw_output_contents (FP32). */
export function modelInferResponseOutput(bytes: Uint8Array, alias: string): DenseTensor {
  const response = ModelInferResponse.toObject(ModelInferResponse.decode(bytes), {
    longs: Number,
    bytes: Buffer,
    arrays: true,
  }) as { outputs: InferOutputTensorObject[]; raw_output_contents: Buffer[] };
  const index = response.outputs.findIndex((output) => output.name === alias);
  if (index < 0)
    throw new Error(`ModelInferResponse has no output "${alias}" (has: ${response.outputs.map((o) => o.name)})`);
  const output = response.outputs[index];
  if (output.datatype !== 'FP32') throw new Error(`output "${alias}" is ${output.datatype}, expected FP32`);
  const raw = response.raw_output_contents[index];
  if (raw === undefined) throw new Error(`ModelInferResponse has no raw_output_contents for "${alias}"`);
  return floats(raw, output.shape, `output "${alias}"`);
}

/** Output `alias` of OpenInference.infer's answer ('raw', as the gRPC transport asks, FP32). */
export function inferResponseOutput(response: InferResponse<'raw'>, alias: string): DenseTensor {
  const output = response.outputs.find((o) => o.name === alias);
  if (!output) throw new Error(`InferResponse has no output "${alias}" (has: ${response.outputs.map((o) => o.name)})`);
  if (output.datatype !== 'FP32') throw new Error(`output "${alias}" is ${output.datatype}, expected FP32`);
  return floats(output.tensor.raw, output.shape, `output "${alias}"`);
}
