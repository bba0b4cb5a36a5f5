/**
 * A Predict request body -> named input tensors, as TF-Serving reads it
 * (FillPredictRequestFromJson): {"signature_name"?, "instances": [...]} (row format: one
 * entry per instance, batched along a new dimension 0) or {"inputs": ...} (columnar: one
 * tensor, or an object of named tensors). Messages follow TF-Serving's, word for word.
 */
import { invalidArgument, ServingError, toServingError } from '../../../errors/serving_error';
import type { JsonPredictFormat } from '../../../native/backend_addon';
import type { TensorSpec } from '../../../servables/signature';
import { parseJsonText } from '../../../tensors/json_parse';
import { InstanceBatch, JsonTensor, tensorFromJson } from './json_tensors';
import { hasMember, isBase64Object, isJsonObject, JsonObject, JsonValue, jsonValueText } from './json_value';

export type { JsonPredictFormat };

export interface PredictDocument {
  /** '' when the request names none (the default signature). */
  signatureName: string;
  document: JsonObject;
}

/** Parses the body and reads "signature_name"; the inputs wait for the signature. */
export function parsePredictDocument(body: string): PredictDocument {
  const document = parseJsonText(body);
  if (!isJsonObject(document)) throw formatError(document, 'Is not object');
  let signatureName = '';
  if (hasMember(document, 'signature_name')) {
    const name = document.signature_name;
    if (typeof name !== 'string') {
      throw formatError(document, "not formatted correctly. 'signature_name' key must be a string value.");
    }
    signatureName = name;
  }
  return { signatureName, document };
}

export interface PredictInputs {
  format: JsonPredictFormat;
  /** By input alias. */
  inputs: Map<string, JsonTensor>;
}

/** The input tensors of `document`, typed by the signature's inputs `specs`. */
export function predictInputsFromJson(
  { signatureName, document }: PredictDocument,
  specs: Map<string, TensorSpec>,
): PredictInputs {
  if (specs.size === 0) {
    throw invalidArgument(`Failed to get input map for signature: ${signatureName || 'DEFAULT'}`);
  }
  const hasInstances = hasMember(document, 'instances');
  if (hasInstances && hasMember(document, 'inputs')) {
    throw formatError(document, "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ");
  }
  if (hasInstances) {
    const instances = document.instances;
    if (!Array.isArray(instances)) throw formatError(document, "Excepting 'instances' to be an list/array");
    if (instances.length === 0) throw formatError(document, "No values in 'instances' array");
    return { format: 'row', inputs: inputsFromInstances(instances, specs) };
  }
  if (hasMember(document, 'inputs')) return { format: 'columnar', inputs: inputsFromColumns(document.inputs, specs) };
  throw invalidArgument("Missing 'inputs' or 'instances' key");
}

/** "instances": each instance a value/list (one input) or an object of named values. */
function inputsFromInstances(instances: JsonValue[], specs: Map<string, TensorSpec>): Map<string, JsonTensor> {
  const isNamedValues = (value: JsonValue) => isJsonObject(value) && !isBase64Object(value);
  const namedValues = isNamedValues(instances[0]);
  if (!namedValues && specs.size > 1) {
    throw invalidArgument(
      'instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map',
    );
  }
  const batches = new Map([...specs].map(([alias, spec]) => [alias, new InstanceBatch(spec.dtype, instances.length)]));
  const aliases = [...specs.keys()].sort();
  instances.forEach((instance, index) => {
    if (!namedValues) {
      if (isNamedValues(instance)) {
        throw invalidArgument(`Expecting value/list but got object at item ${index} of input list`);
      }
      withContext(`Failed to process element: ${index} of 'instances' list. Error: `, () =>
        batches.get(aliases[0])!.add(instance),
      );
      return;
    }
    if (!isNamedValues(instance)) throw invalidArgument(`Expecting object but got list at item ${index} of input list`);
    const named = instance as JsonObject;
    const keys = Object.keys(named);
    for (const key of keys) {
      withContext(`Failed to process element: ${index} key: ${key} of 'instances' list. Error: `, () => {
        const batch = batches.get(key);
        if (!batch) throw invalidArgument(`JSON object: does not have named input: ${key}`);
        batch.add(named[key]);
      });
    }
    if (keys.length !== aliases.length || !keys.every((key) => batches.has(key))) {
      throw invalidArgument(
        `Failed to process element: ${index} of 'instances' list. JSON object: ${jsonValueText(named)} keys must be equal to: ${aliases.join(',')}`,
      );
    }
  });
  return new Map([...batches].map(([alias, batch]) => [alias, batch.tensor()]));
}

/** "inputs": one tensor (a value, list or b64 object) or an object of named tensors. */
function inputsFromColumns(value: JsonValue, specs: Map<string, TensorSpec>): Map<string, JsonTensor> {
  if (!isJsonObject(value) || isBase64Object(value)) {
    if (specs.size > 1) {
      throw invalidArgument(
        'inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map',
      );
    }
    const [alias, spec] = [...specs][0];
    return new Map([[alias, tensorFromJson(value, spec.dtype)]]);
  }
  const inputs = new Map<string, JsonTensor>();
  for (const [alias, spec] of specs) {
    if (!hasMember(value, alias)) throw invalidArgument(`Missing named input: ${alias} in 'inputs' object.`);
    inputs.set(alias, tensorFromJson(value[alias], spec.dtype));
  }
  return inputs;
}

function formatError(value: JsonValue, message: string): ServingError {
  return invalidArgument(`JSON Value: ${jsonValueText(value)} ${message}`);
}

/** TF-Serving wraps an instance's error as INVALID_ARGUMENT with the cause's status text. */
function withContext(prefix: string, work: () => void): void {
  try {
    work();
  } catch (error) {
    const cause = toServingError(error);
    throw invalidArgument(`${prefix}${cause.code}: ${cause.message}`);
  }
}
