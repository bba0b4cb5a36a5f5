/**
 * TF-Serving's ParseProtoTextFile (util/proto_util.h): a whole file parsed as one text-format
 * message, for every config file a flag names. Errors in tensorflow_model_server's words, so
 * that scripts grepping its output keep working:
 * - a file that cannot be read: TensorFlow's I/O status, e.g. NOT_FOUND "<file>; No such file
 *   or directory";
 * - text that does not parse: INVALID_ARGUMENT "Invalid protobuf file: '<file>'", followed here
 *   by the line protobuf's parser logs beside it in TF-Serving, "Error parsing text-format
 *   <message type>: <line>:<column>: <what>", so one message says where and what.
 */
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import type * as protobuf from 'protobufjs';
import { ServingError } from '../errors/serving_error';
import type { StatusCodeName } from '../errors/status_code';
import { ConfigError } from './config_error';
import { parseTextFormat, type TextFormatOptions } from './text_format';
import { TextFormatError } from './text_format_tokenizer';

/** Reads and parses `file` as a `type` message (start-up: synchronous). */
export function readTextProtoFile(
  type: protobuf.Type,
  file: string,
  options: TextFormatOptions = {},
): protobuf.Message {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw fileReadError(file, error as NodeJS.ErrnoException);
  }
  return parseTextProtoFile(type, text, file, options);
}

/**
 * The same, off the event loop (for files re-read while serving, and files of model versions,
 * read with `{ quoteText: false }`: their errors reach clients).
 */
export async function readTextProtoFileAsync(
  type: protobuf.Type,
  file: string,
  options: TextFormatOptions = {},
): Promise<protobuf.Message> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw fileReadError(file, error as NodeJS.ErrnoException);
  }
  return parseTextProtoFile(type, text, file, options);
}

/** `text`, the contents of `file`, as a `type` message. */
export function parseTextProtoFile(
  type: protobuf.Type,
  text: string,
  file: string,
  options: TextFormatOptions = {},
): protobuf.Message {
  try {
    return parseTextFormat(type, text, file, options);
  } catch (error) {
    if (!(error instanceof TextFormatError)) throw error;
    const typeName = type.fullName.replace(/^\./, '');
    throw new ConfigError(
      `Invalid protobuf file: '${file}': Error parsing text-format ${typeName}: ` +
        `${error.at.line}:${error.at.column}: ${error.detail}`,
    );
  }
}

/** TensorFlow's errors::IOError(file, errno) for the common cases. */
const IO_ERRORS: Record<string, [StatusCodeName, string]> = {
  ENOENT: ['NOT_FOUND', 'No such file or directory'],
  ENOTDIR: ['NOT_FOUND', 'Not a directory'],
  EACCES: ['PERMISSION_DENIED', 'Permission denied'],
  EISDIR: ['FAILED_PRECONDITION', 'Is a directory'],
};

function fileReadError(file: string, error: NodeJS.ErrnoException): ServingError {
  const [code, reason] = IO_ERRORS[error.code ?? ''] ?? ['UNKNOWN', error.message];
  return new ServingError(code, `${file}; ${reason}`);
}
