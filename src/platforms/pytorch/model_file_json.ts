/**
 * JSON read from a model's files (signature.json, and documents inside a .pt2 package). A file
 * may be anything, even a link to /etc/passwd, and load errors reach clients through
 * GetModelStatus: so an error names the file, line:column and the kind of problem, never the
 * text (JSON.parse's own messages quote it).
 */
import { invalidArgument } from '../../errors/serving_error';
import { findJsonSyntaxError } from '../../tensors/json_parse';

/** `text` parsed as strict JSON; `source` names it in the error ("/m/1/signature.json"). */
export function parseModelFileJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Described below, without the text.
  }
  const syntax = findJsonSyntaxError(text);
  // What rapidjson reads but JSON does not: NaN and Infinity tokens.
  if (syntax === undefined) throw invalidArgument(`${source} is not valid JSON: it holds NaN or Infinity`);
  const lines = text.slice(0, syntax.index).split('\n');
  const column = lines[lines.length - 1].length + 1;
  throw invalidArgument(`${source}:${lines.length}:${column}: not valid JSON: ${syntax.problem}`);
}
