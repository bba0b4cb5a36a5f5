/**
 * The few protobuf wire-format pieces the hand-written response encoders need (predict_response.ts,
 * infer_response.ts): they size a response first, then write it into one buffer, so that each
 * output's bytes are copied once (protobufjs's writer copies them twice).
 */

const LENGTH_DELIMITED = 2;

/** The one-byte tag of length-delimited field `field` (1 to 15). */
export const lengthDelimitedTag = (field: number) => (field << 3) | LENGTH_DELIMITED;

/** The one-byte tag of varint field `field` (1 to 15). */
export const varintTag = (field: number) => field << 3;

/** Bytes of `value` (a non-negative safe integer) as a varint. */
export function varintLength(value: number): number {
  let length = 1;
  for (; value >= 0x80; length++) value = Math.floor(value / 0x80);
  return length;
}

/** Writes `value` (a non-negative safe integer) as a varint at `at`; returns the offset after it. */
export function writeVarint(buffer: Buffer, at: number, value: number): number {
  for (; value >= 0x80; value = Math.floor(value / 0x80)) buffer[at++] = (value % 0x80) | 0x80;
  buffer[at++] = value;
  return at;
}

/** A length-delimited field of `length` bytes, with its one-byte tag and its length. */
export const fieldLength = (length: number) => 1 + varintLength(length) + length;

// Names, versions and datatypes are short and ASCII: a loop in JS sizes and writes them faster
// than a call into Buffer's C++ (a few calls of it made a 3-float response slower than protobufjs's).
const SHORT_TEXT = 64;

/** `text`'s UTF-8 length. */
export function utf8Length(text: string): number {
  if (text.length > SHORT_TEXT) return Buffer.byteLength(text);
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text);
  return text.length;
}

/** Writes a string field of `bytes` UTF-8 bytes (utf8Length); returns the offset after it. */
export function writeString(buffer: Buffer, at: number, fieldTag: number, text: string, bytes: number): number {
  buffer[at++] = fieldTag;
  at = writeVarint(buffer, at, bytes);
  if (bytes !== text.length || bytes > SHORT_TEXT) return at + buffer.write(text, at, 'utf8');
  for (let i = 0; i < bytes; i++) buffer[at++] = text.charCodeAt(i);
  return at;
}
