/** JSON documents (tensors/json_parse.ts's) as the REST API reads them and quotes them in errors. */
import type { JsonObject, JsonValue } from '../../../tensors/json_parse';
import { formatFloat64 } from './json_decimal';
import { PrettyJsonWriter } from './json_pretty_writer';

export type { JsonObject, JsonValue };

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function hasMember(object: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** Binary data in JSON: an object whose only member is "b64", a string. */
export function isBase64Object(value: JsonValue | undefined): value is { b64: string } {
  if (!isJsonObject(value) || !hasMember(value, 'b64') || typeof value.b64 !== 'string') return false;
  for (const key in value) if (key !== 'b64' && hasMember(value, key)) return false;
  return true;
}

/** rapidjson's type names, which TF-Serving puts in its error messages. */
export function jsonTypeName(value: JsonValue): string {
  if (value === null) return 'Null';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (Array.isArray(value)) return 'Array';
  switch (typeof value) {
    case 'string':
      return 'String';
    case 'object':
      return 'Object';
    default:
      return 'Number';
  }
}

/** A value as TF-Serving prints it inside error messages (pretty-printed JSON). */
export function jsonValueText(value: JsonValue): string {
  const writer = new PrettyJsonWriter();
  try {
    writeValue(writer, value);
  } catch (error) {
    if (error instanceof RangeError) return '<value nested too deeply to print>';
    throw error;
  }
  return writer.toString();
}

function writeValue(writer: PrettyJsonWriter, value: JsonValue): void {
  if (value === null || typeof value === 'boolean') writer.raw(String(value));
  else if (typeof value === 'bigint') writer.raw(value.toString());
  else if (typeof value === 'number') writer.raw(Number.isSafeInteger(value) ? String(value) : formatFloat64(value));
  else if (typeof value === 'string') writer.string(value);
  else if (Array.isArray(value)) {
    writer.startArray();
    for (const item of value) writeValue(writer, item);
    writer.endArray();
  } else {
    writer.startObject();
    for (const key of Object.keys(value)) {
      writer.key(key);
      writeValue(writer, value[key]);
    }
    writer.endObject();
  }
}
