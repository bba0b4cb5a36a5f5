/**
 * The signature.json format both PyTorch model formats share (see signatures.ts for what each
 * key means): reads and checks its form; what the names refer to is the model format's business.
 * An AOTInductor package may carry the same document in its metadata (aoti_signatures.ts).
 */
import { invalidArgument } from '../../errors/serving_error';
import type { TensorSpec } from '../../servables/signature';
import { DataType, DataTypeName } from '../../tensors/data_type';

export const SIGNATURE_FILE = 'signature.json';

/** The sections a document lists; a section it leaves out is undefined. */
export interface SignatureSections {
  inputs?: Map<string, TensorSpec>;
  outputs?: Map<string, TensorSpec>;
}

/**
 * `source` names the document in messages ("signature.json"). A spec's `name` defaults to its
 * alias, `dtype` to DT_INVALID and `shape` to null (unknown rank).
 */
export function readSignatureSections(document: unknown, source: string): SignatureSections {
  const object = expectObject(document, source);
  checkKeys(object, ['inputs', 'outputs'], source);
  return {
    inputs: object.inputs === undefined ? undefined : readSpecs(object.inputs, `${source} "inputs"`),
    outputs: object.outputs === undefined ? undefined : readSpecs(object.outputs, `${source} "outputs"`),
  };
}

function readSpecs(section: unknown, where: string): Map<string, TensorSpec> {
  const specs = new Map<string, TensorSpec>();
  for (const [alias, value] of Object.entries(expectObject(section, where))) {
    const entry = expectObject(value, `${where} "${alias}"`);
    checkKeys(entry, ['name', 'dtype', 'shape'], `${where} "${alias}"`);
    specs.set(alias, {
      name: readName(entry.name, alias, `${where} "${alias}"`),
      dtype: readDtype(entry.dtype, `${where} "${alias}"`),
      shape: readShape(entry.shape, `${where} "${alias}"`),
    });
  }
  return specs;
}

function readName(value: unknown, alias: string, where: string): string {
  if (value === undefined) return alias;
  if (typeof value !== 'string' || value === '') throw invalidArgument(`${where}: "name" must be a non-empty string`);
  return value;
}

function readDtype(value: unknown, where: string): number {
  if (value === undefined) return DataType.DT_INVALID;
  if (value === 'DT_STRING') throw invalidArgument(`${where}: DT_STRING tensors are not supported by PyTorch models`);
  if (typeof value !== 'string' || value === 'DT_INVALID' || !Object.hasOwn(DataType, value)) {
    throw invalidArgument(
      `${where}: unknown dtype ${JSON.stringify(value)} (expected a name such as DT_FLOAT, DT_INT64, DT_BOOL)`,
    );
  }
  return DataType[value as DataTypeName];
}

function readShape(value: unknown, where: string): number[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || !value.every((size) => Number.isInteger(size) && size >= -1)) {
    throw invalidArgument(`${where}: "shape" must be a list of sizes (-1 for unknown) or null`);
  }
  return value as number[];
}

function expectObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`${where} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function checkKeys(object: Record<string, unknown>, allowed: string[], where: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw invalidArgument(`${where}: unknown key "${key}" (allowed: ${allowed.join(', ')})`);
    }
  }
}
