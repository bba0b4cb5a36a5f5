/**
 * A Signature as protobuf's DebugString() prints the SignatureDef it stands for (text format,
 * two-space indent, map entries sorted by key): TF-Serving puts that text in the errors of
 * Classify, Regress and MultiInference when a signature does not fit them.
 */
import { dataTypeName } from '../tensors/data_type';
import type { Signature, TensorSpec } from './signature';

export function signatureDebugString(signature: Signature): string {
  const lines: string[] = [];
  tensorInfoMap(lines, 'inputs', signature.inputs);
  tensorInfoMap(lines, 'outputs', signature.outputs);
  if (signature.methodName) lines.push(`method_name: ${quoted(signature.methodName)}`);
  return lines.map((line) => line + '\n').join('');
}

function tensorInfoMap(lines: string[], field: string, specs: Map<string, TensorSpec>): void {
  const aliases = [...specs.keys()].sort(compareBytes);
  for (const alias of aliases) {
    lines.push(`${field} {`, `  key: ${quoted(alias)}`, '  value {');
    tensorInfo(lines, specs.get(alias)!, '    ');
    lines.push('  }', '}');
  }
}

function tensorInfo(lines: string[], spec: TensorSpec, indent: string): void {
  if (spec.name) lines.push(`${indent}name: ${quoted(spec.name)}`);
  if (spec.dtype) lines.push(`${indent}dtype: ${dataTypeName(spec.dtype)}`);
  lines.push(`${indent}tensor_shape {`);
  if (spec.shape === null) lines.push(`${indent}  unknown_rank: true`);
  for (const size of spec.shape ?? []) lines.push(`${indent}  dim {`, `${indent}    size: ${size}`, `${indent}  }`);
  lines.push(`${indent}}`);
}

/** Map keys sort as C++ std::string does: by UTF-8 bytes. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const ESCAPES: Record<number, string> = {
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x22: '\\"',
  0x27: "\\'",
  0x5c: '\\\\',
};

/** A string field's value as text format writes it: C escapes, other bytes outside ASCII's printable range in octal. */
function quoted(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    const escape = ESCAPES[byte];
    if (escape !== undefined) out += escape;
    else if (byte < 0x20 || byte >= 0x7f) out += '\\' + byte.toString(8).padStart(3, '0');
    else out += String.fromCharCode(byte);
  }
  return out + '"';
}
