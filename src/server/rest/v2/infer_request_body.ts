/**
 * The body of POST /v2/models/{name}[/versions/{v}]/infer read into an InferRequest: the JSON
 * object of the Open Inference Protocol's REST form, and its binary tensor extension (the
 * Inference-Header-Content-Length header gives the JSON's length; after it come the inputs
 * whose parameters give binary_data_size, in their order, each as raw contents viewing the
 * body, never copied). Every error is INVALID_ARGUMENT with a bounded message that names the
 * field, never the body's text.
 */
import { invalidArgument } from '../../../errors/serving_error';
import { parseJsonText } from '../../../tensors/json_parse';
import { dataTypeOfV2 } from '../../../tensors/v2_datatype';
import type {
  InferInput,
  InferInputContents,
  InferParameters,
  InferParameterValue,
  InferRequest,
  InferRequestedOutput,
} from '../../open_inference/infer_request';
import { isJsonObject, type JsonObject, type JsonValue } from '../json/json_value';

/** The binary tensor extension's header: the length of the JSON that starts the body. */
export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';

/** Longest quoted user text (a name, a header value) in a message. */
const QUOTE_LIMIT = 80;

/** `text` cut for a message. */
export function quoted(text: string): string {
  return text.length <= QUOTE_LIMIT ? `'${text}'` : `'${text.slice(0, QUOTE_LIMIT)}...' (${text.length} characters)`;
}

export interface InferTarget {
  modelName: string;
  /** The path's version; '' for the latest. */
  modelVersion: string;
}

/** The request `body` (with the header's value, when sent) addressed to `target`. */
export function readInferRequest(body: Buffer, headerLength: string | undefined, target: InferTarget): InferRequest {
  const jsonLength = headerLength === undefined ? body.length : jsonLengthOf(headerLength, body.length);
  const document = parseRequestJson(body.subarray(0, jsonLength));
  const binary = new BinarySlices(body, jsonLength, headerLength !== undefined);
  const inputs = requiredArray(document, 'inputs', 'The request').map((input, index) =>
    readInput(input, index, binary),
  );
  binary.checkAllUsed();
  const outputs = optionalArray(document, 'outputs', 'The request').map(readRequestedOutput);
  const id = document.id;
  if (id !== undefined && typeof id !== 'string') throw invalidArgument("The request's 'id' must be a string");
  return {
    modelName: target.modelName,
    modelVersion: target.modelVersion,
    id: id ?? '',
    parameters: readParameters(document.parameters, 'The request'),
    inputs,
    outputs,
  };
}

function jsonLengthOf(header: string, bodyLength: number): number {
  const length = /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : NaN;
  if (!(length <= bodyLength)) {
    throw invalidArgument(
      `Inference-Header-Content-Length ${quoted(header)} is not a length within the request body of ${bodyLength} bytes`,
    );
  }
  return length;
}

function parseRequestJson(json: Buffer): JsonObject {
  const document = parseJsonText(json.toString('utf8'));
  if (!isJsonObject(document)) throw invalidArgument('The request body must be a JSON object');
  return document;
}

/** The binary tensors after the JSON, handed out in input order. */
class BinarySlices {
  private at: number;

  constructor(
    private readonly body: Buffer,
    jsonLength: number,
    private readonly headerSent: boolean,
  ) {
    this.at = jsonLength;
  }

  /** The next `size` bytes, for the input `what` names. */
  take(size: number, what: string): Uint8Array {
    if (!this.headerSent) {
      throw invalidArgument(
        `${what} has binary_data_size but the request has no Inference-Header-Content-Length header`,
      );
    }
    const end = this.at + size;
    if (end > this.body.length) {
      throw invalidArgument(
        `${what}: binary_data_size ${size} goes past the end of the request body ` +
          `(${this.body.length - this.at} bytes of binary data left)`,
      );
    }
    const slice = this.body.subarray(this.at, end);
    this.at = end;
    return slice;
  }

  checkAllUsed(): void {
    const left = this.body.length - this.at;
    if (left > 0) {
      throw invalidArgument(
        `The request body holds ${left} bytes of binary data beyond what the inputs' binary_data_size add up to`,
      );
    }
  }
}

function readInput(value: JsonValue, index: number, binary: BinarySlices): InferInput {
  if (!isJsonObject(value)) throw invalidArgument(`Input ${index} of the request must be a JSON object`);
  const name = requiredString(value, 'name', `Input ${index}`);
  const what = `Input ${quoted(name)}`;
  const datatype = requiredString(value, 'datatype', what);
  const shape = readShape(value.shape, what);
  const parameters = readParameters(value.parameters, what);
  return { name, datatype, shape, parameters, contents: readContents(value, parameters, datatype, what, binary) };
}

function readShape(value: JsonValue | undefined, what: string): number[] {
  if (!Array.isArray(value)) throw invalidArgument(`${what} has no 'shape' array`);
  return value.map((dim) => {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw invalidArgument(`${what}: the dimensions of 'shape' must be non-negative integers`);
    }
    return dim;
  });
}

function readContents(
  input: JsonObject,
  parameters: InferParameters,
  datatype: string,
  what: string,
  binary: BinarySlices,
): InferInputContents {
  if (parameters.has('shared_memory_region')) {
    throw invalidArgument(`${what}: shared memory (shared_memory_region) is not supported by this server`);
  }
  const size = parameters.get('binary_data_size');
  if (size !== undefined) {
    if (input.data !== undefined) throw invalidArgument(`${what} has both 'data' and binary_data_size`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw invalidArgument(`${what}: binary_data_size must be a non-negative integer`);
    }
    return { raw: binary.take(size, what) };
  }
  if (input.data === undefined) throw invalidArgument(`${what} has no 'data' (nor binary_data_size)`);
  // One kind of element throughout for a known datatype (flatValues checks it); OpenInference refuses an unknown one.
  return {
    values: flatValues(input.data, datatype, what) as Extract<InferInputContents, { values: unknown }>['values'],
  };
}

type Leaf = number | bigint | boolean | string;

/** What a JSON element of each kind of datatype must be. */
function leafCheck(datatype: string): { ok: (value: JsonValue) => boolean; kind: string } | undefined {
  if (datatype === 'BOOL') return { ok: (value) => typeof value === 'boolean', kind: 'true or false' };
  if (datatype === 'BYTES') return { ok: (value) => typeof value === 'string', kind: 'strings' };
  if (dataTypeOfV2(datatype) === undefined) return undefined; // OpenInference names it
  return { ok: (value) => typeof value === 'number' || typeof value === 'bigint', kind: 'numbers' };
}

/** `data`, flat or nested in row-major order, as one flat list of its elements. */
function flatValues(data: JsonValue, datatype: string, what: string): Leaf[] {
  if (!Array.isArray(data)) throw invalidArgument(`${what}: 'data' must be an array`);
  const check = leafCheck(datatype);
  const flat: Leaf[] = [];
  const visit = (values: JsonValue[]) => {
    for (const value of values) {
      if (Array.isArray(value)) {
        visit(value);
      } else if (value === null || typeof value === 'object' || (check && !check.ok(value))) {
        throw invalidArgument(
          `${what}: the elements of 'data' of datatype ${datatype} must be ${check?.kind ?? 'values'}`,
        );
      } else {
        flat.push(value);
      }
    }
  };
  visit(data);
  return flat;
}

function readRequestedOutput(value: JsonValue, index: number): InferRequestedOutput {
  if (!isJsonObject(value)) throw invalidArgument(`Output ${index} of the request must be a JSON object`);
  const name = requiredString(value, 'name', `Output ${index}`);
  const what = `Output ${quoted(name)}`;
  const parameters = readParameters(value.parameters, what);
  if (parameters.has('classification')) {
    throw invalidArgument(`${what}: the classification extension is not supported by this server`);
  }
  const binaryData = parameters.get('binary_data');
  if (binaryData !== undefined && typeof binaryData !== 'boolean') {
    throw invalidArgument(`${what}: binary_data must be true or false`);
  }
  return { name, parameters };
}

/** A `parameters` object: each value a bool, number or string, as the protocol's parameters are. */
function readParameters(value: JsonValue | undefined, what: string): InferParameters {
  const parameters = new Map<string, InferParameterValue>();
  if (value === undefined) return parameters;
  if (!isJsonObject(value)) throw invalidArgument(`${what}: 'parameters' must be a JSON object`);
  for (const [key, parameter] of Object.entries(value)) {
    if (parameter === null || typeof parameter === 'object') {
      throw invalidArgument(`${what}: parameter ${quoted(key)} must be a bool, a number or a string`);
    }
    parameters.set(key, parameter);
  }
  return parameters;
}

function requiredString(object: JsonObject, key: string, what: string): string {
  const value = object[key];
  if (typeof value !== 'string') throw invalidArgument(`${what} has no '${key}' string`);
  return value;
}

function requiredArray(object: JsonObject, key: string, what: string): JsonValue[] {
  const value = object[key];
  if (!Array.isArray(value)) throw invalidArgument(`${what} has no '${key}' array`);
  return value;
}

function optionalArray(object: JsonObject, key: string, what: string): JsonValue[] {
  const value = object[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidArgument(`${what}'s '${key}' must be an array`);
  return value;
}
