/**
 * inference.ModelInferResponse bytes, written by hand: each output's name, datatype and shape,
 * and its values in raw_output_contents (as Triton answers, and as tritonclient's as_numpy and
 * the kserve SDK read them): each output's 'raw' Buffer (OpenInference.infer with outputEncoding
 * 'raw') copied once into a buffer sized up front, as predict_response.ts does for Predict.
 * grpc-js takes the answer as one Buffer (and copies it once more into its frame), so the copy
 * here cannot be saved by handing it the pieces.
 */
import { internal } from '../../errors/serving_error';
import type { InferOutput, InferResponse } from '../open_inference/infer_request';
import {
  fieldLength,
  lengthDelimitedTag as tag,
  utf8Length,
  varintLength,
  writeString,
  writeVarint,
} from './proto_wire';

// ModelInferResponse: model_name = 1, model_version = 2, id = 3, outputs = 5, raw_output_contents = 6.
const MODEL_NAME = tag(1);
const MODEL_VERSION = tag(2);
const ID = tag(3);
const OUTPUTS = tag(5);
const RAW_OUTPUT_CONTENTS = tag(6);
// InferOutputTensor: name = 1, datatype = 2, shape = 3 (packed int64).
const OUTPUT_NAME = tag(1);
const OUTPUT_DATATYPE = tag(2);
const OUTPUT_SHAPE = tag(3);
// ModelStreamInferResponse: infer_response = 2.
const STREAM_INFER_RESPONSE = tag(2);

function shapeLength(shape: readonly number[]): number {
  let length = 0;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) throw internal(`output shape has dimension ${dim}`);
    length += varintLength(dim);
  }
  return length;
}

/** An output's fields, sized once. */
interface OutputLayout {
  output: InferOutput<'raw'>;
  nameBytes: number;
  datatypeBytes: number;
  shapeBytes: number;
  messageBytes: number;
}

/** A string field of `bytes` UTF-8 bytes, 0 when empty (proto3 does not write a default value). */
const stringField = (bytes: number) => (bytes === 0 ? 0 : fieldLength(bytes));

function layoutOf(output: InferOutput<'raw'>): OutputLayout {
  const nameBytes = utf8Length(output.name);
  const datatypeBytes = output.datatype.length; // the protocol's names are ASCII
  const shapeBytes = shapeLength(output.shape);
  const messageBytes =
    stringField(nameBytes) + stringField(datatypeBytes) + (output.shape.length === 0 ? 0 : fieldLength(shapeBytes));
  return { output, nameBytes, datatypeBytes, shapeBytes, messageBytes };
}

function writeOptionalString(buffer: Buffer, at: number, fieldTag: number, text: string, bytes: number): number {
  return bytes === 0 ? at : writeString(buffer, at, fieldTag, text, bytes);
}

function encode(response: InferResponse<'raw'>, wrapTag?: number): Buffer {
  const layouts = response.outputs.map(layoutOf);
  const modelNameBytes = utf8Length(response.modelName);
  const modelVersionBytes = utf8Length(response.modelVersion);
  const idBytes = utf8Length(response.id);
  let body = stringField(modelNameBytes) + stringField(modelVersionBytes) + stringField(idBytes);
  // Every output has its raw_output_contents entry, even an empty one: they pair up by index.
  for (const layout of layouts) body += fieldLength(layout.messageBytes) + fieldLength(layout.output.tensor.raw.length);
  const buffer = Buffer.allocUnsafe(wrapTag === undefined ? body : fieldLength(body));
  let at = 0;
  if (wrapTag !== undefined) {
    buffer[at++] = wrapTag;
    at = writeVarint(buffer, at, body);
  }
  at = writeOptionalString(buffer, at, MODEL_NAME, response.modelName, modelNameBytes);
  at = writeOptionalString(buffer, at, MODEL_VERSION, response.modelVersion, modelVersionBytes);
  at = writeOptionalString(buffer, at, ID, response.id, idBytes);
  for (const { output, messageBytes, nameBytes, datatypeBytes, shapeBytes } of layouts) {
    buffer[at++] = OUTPUTS;
    at = writeVarint(buffer, at, messageBytes);
    at = writeOptionalString(buffer, at, OUTPUT_NAME, output.name, nameBytes);
    at = writeOptionalString(buffer, at, OUTPUT_DATATYPE, output.datatype, datatypeBytes);
    if (output.shape.length > 0) {
      buffer[at++] = OUTPUT_SHAPE;
      at = writeVarint(buffer, at, shapeBytes);
      for (const dim of output.shape) at = writeVarint(buffer, at, dim);
    }
  }
  for (const { output } of layouts) {
    const { raw } = output.tensor;
    buffer[at++] = RAW_OUTPUT_CONTENTS;
    at = writeVarint(buffer, at, raw.length);
    buffer.set(raw, at);
    at += raw.length;
  }
  if (at !== buffer.length) throw internal(`ModelInferResponse: wrote ${at} of ${buffer.length} bytes`);
  return buffer;
}

/** The ModelInferResponse for `response`. */
export function encodeInferResponse(response: InferResponse<'raw'>): Buffer {
  return encode(response);
}

/** A ModelStreamInferResponse carrying `response` (its infer_response), written in the same one pass. */
export function encodeStreamInferResponse(response: InferResponse<'raw'>): Buffer {
  return encode(response, STREAM_INFER_RESPONSE);
}
