/**
 * A text-format proto file named by a flag, read as TF-Serving's ParseProtoTextFile reads it:
 * a missing or unreadable file is the file system's error (NOT_FOUND for a missing one), a file
 * that does not parse is INVALID_ARGUMENT "Invalid protobuf file: '<path>'", followed here by
 * the parser's "<path>:line:column: what" (TF-Serving logs that part separately).
 */
import { readFileSync } from 'node:fs';
import type * as protobuf from 'protobufjs';
import { ServingError } from '../errors/serving_error';
import { parseTextFormatToObject, type PlainMessage } from './text_format';

export function readProtoTextFile(type: protobuf.Type, file: string): PlainMessage {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    const reason = code === 'ENOENT' ? 'No such file or directory' : (error as Error).message;
    throw new ServingError(code === 'ENOENT' ? 'NOT_FOUND' : 'UNKNOWN', `${file}; ${reason}`);
  }
  try {
    return parseTextFormatToObject(type, text, file);
  } catch (error) {
    throw new ServingError('INVALID_ARGUMENT', `Invalid protobuf file: '${file}': ${(error as Error).message}`);
  }
}
