/**
 * A Classify or Regress request body -> serialized tf.Examples, as TF-Serving reads it
 * (FillClassifyRegressRequestFromJson):
 *   {"signature_name"?: string, "context"?: {feature: value|list}, "examples": [{feature: value|list}, ...]}
 * Each feature's values pick its list: integers (and booleans, as 1/0) an int64_list, other
 * numbers a float_list, strings and {"b64": ...} a bytes_list; one list may not mix them.
 * Messages follow TF-Serving's, word for word.
 */
import { invalidArgument } from '../../../errors/serving_error';
import { Protos } from '../../../protos';
import type { SerializedInput } from '../../../servables/serialized_input';
import { formatFloat64 } from './json_decimal';
import { parseJsonText } from '../../../tensors/json_parse';
import { decodeBase64Object } from './json_tensors';
import { hasMember, isBase64Object, isJsonObject, JsonValue, jsonTypeName, jsonValueText } from './json_value';

export interface ExamplesDocument {
  /** '' when the request names none (the default signature). */
  signatureName: string;
  input: SerializedInput;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const FLOAT_MAX = 3.4028234663852886e38;

type FeatureKind = 'bytes_list' | 'float_list' | 'int64_list';
const KIND_NAMES: Record<FeatureKind, string> = { bytes_list: 'bytes', float_list: 'float', int64_list: 'int64' };

/** One feature's values as protobufjs encodes a tensorflow.Feature (int64s as decimal strings). */
interface FeatureBuilder {
  kind?: FeatureKind;
  values: Array<Uint8Array | number | string>;
}

export function parseExamplesDocument(body: string): ExamplesDocument {
  const document = parseJsonText(body, { integersAsBigInt: true });
  if (!isJsonObject(document)) throw invalidArgument(`JSON Value: ${jsonValueText(document)} Is not object`);
  let signatureName = '';
  if (hasMember(document, 'signature_name')) {
    if (typeof document.signature_name !== 'string') {
      throw invalidArgument(
        `JSON Value: ${jsonValueText(document)} not formatted correctly. 'signature_name' key must be a string value.`,
      );
    }
    signatureName = document.signature_name;
  }
  const context = hasMember(document, 'context') ? serializedExample(document.context) : undefined;
  if (!hasMember(document, 'examples')) {
    // TF-Serving says "classify" for :regress too.
    throw invalidArgument(
      `JSON Value: ${jsonValueText(document)} When method is classify, key 'examples' is expected and was not found`,
    );
  }
  const list = document.examples;
  if (!Array.isArray(list)) {
    throw invalidArgument(`JSON Value: ${jsonValueText(document)} Expecting 'examples' value to be an list/array`);
  }
  if (list.length === 0) {
    throw invalidArgument(`JSON Value: ${jsonValueText(document)} 'examples' value is an empty array`);
  }
  const examples = list.map(serializedExample);
  const input: SerializedInput =
    context === undefined ? { example_list: { examples } } : { example_list_with_context: { examples, context } };
  return { signatureName, input };
}

/** One JSON object of features as a serialized tensorflow.Example. */
function serializedExample(value: JsonValue): Uint8Array {
  if (!isJsonObject(value)) throw invalidArgument(`Example must be JSON object but got JSON ${jsonTypeName(value)}`);
  const names = Object.keys(value);
  if (names.length === 0) return new Uint8Array(0); // no features: TF-Serving leaves the message empty
  // No prototype: a feature may be named "__proto__".
  const feature: Record<string, Record<string, { value: FeatureBuilder['values'] }>> = Object.create(null);
  for (const name of names) {
    const builder: FeatureBuilder = { values: [] };
    const content = value[name];
    for (const element of Array.isArray(content) ? content : [content]) addValue(builder, name, element);
    feature[name] = builder.kind ? { [builder.kind]: { value: builder.values } } : {};
  }
  return Protos.Example.encode({ features: { feature } }).finish();
}

function addValue(feature: FeatureBuilder, name: string, value: JsonValue): void {
  if (value === null || Array.isArray(value) || (isJsonObject(value) && !isBase64Object(value))) {
    throw invalidArgument(`Feature: ${name} has element with unexpected JSON type: ${jsonTypeName(value)}`);
  }
  if (typeof value === 'boolean') return add(feature, name, 'int64_list', value ? '1' : '0');
  if (typeof value === 'string') return add(feature, name, 'bytes_list', Buffer.from(value, 'utf8'));
  if (isJsonObject(value)) {
    expectKind(feature, name, 'bytes_list');
    return add(feature, name, 'bytes_list', decodeBase64Object(value));
  }
  // rapidjson keeps integer literals that fit 64 bits as integers, the rest as doubles.
  if (typeof value === 'bigint' && value >= INT64_MIN && value <= UINT64_MAX) {
    expectKind(feature, name, 'int64_list');
    if (value > INT64_MAX) throw invalidArgument(`Feature: ${name} has uint64 element. Only int64 is supported.`);
    return add(feature, name, 'int64_list', value.toString());
  }
  const double = Number(value);
  expectKind(feature, name, 'float_list');
  if (Number.isFinite(double) && Math.abs(double) > FLOAT_MAX) {
    throw invalidArgument(`Cannot convert JSON value: ${formatFloat64(double)} to float without loss of precision.`);
  }
  add(feature, name, 'float_list', double);
}

/** A list holds one kind of value: the first value's. */
function expectKind(feature: FeatureBuilder, name: string, kind: FeatureKind): void {
  if (feature.kind !== undefined && feature.kind !== kind) {
    throw invalidArgument(`Unexpected element type in feature: ${name} expecting type: ${KIND_NAMES[feature.kind]}`);
  }
}

function add(feature: FeatureBuilder, name: string, kind: FeatureKind, value: Uint8Array | number | string): void {
  expectKind(feature, name, kind);
  feature.kind = kind;
  feature.values.push(value);
}
