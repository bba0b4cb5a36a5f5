/**
 * A PyTorch model's SignatureMap: one signature, "serving_default" (Predict), built from the
 * addon's Describe() JSON and, optionally, the version directory's `signature.json`.
 *
 * Without signature.json, inputs are forward()'s Tensor arguments (alias = TensorInfo.name =
 * argument name) and outputs follow the backend's naming rule (native/pytorch/
 * torchscript_model.cc): output_0 for a Tensor, output_0..output_{N-1} for a tuple; none
 * are listed for a Dict[str, Tensor] (its keys are known only at run time). dtype is
 * DT_INVALID (accept any) and shape null (unknown rank): TorchScript does not declare them.
 *
 * signature.json renames and types them (every key optional; a section that is present
 * replaces the default one):
 *   {
 *     "inputs":  {"<alias>": {"name": "<forward() argument, default: alias>",
 *                             "dtype": "DT_FLOAT", "shape": [-1, 4]}},
 *     "outputs": {"<alias>": {"name": "<output_0.. or a dict key, default: alias>",
 *                             "dtype": "DT_FLOAT", "shape": [-1, 2]}}
 *   }
 * dtype is a tensorflow.DataType name (DT_STRING excepted: PyTorch has no string tensors);
 * shape is a list of sizes with -1 for unknown, or null for unknown rank. Unknown keys,
 * unknown dtype names, inputs that are not forward() arguments and required arguments left
 * out are load errors (INVALID_ARGUMENT).
 */
import { invalidArgument } from '../../errors/serving_error';
import {
  DEFAULT_SIGNATURE_NAME,
  PREDICT_METHOD_NAME,
  SignatureMap,
  TensorSpec,
} from '../../servables/signature';
import { DataType, DataTypeName } from '../../tensors/data_type';

/** What the addon's describe() returns for a PyTorch model (JSON). */
export interface PyTorchDescription {
  format: string;
  inputs: Array<{ name: string; type: string; optional: boolean }>;
  outputs: { kind: 'tensor' | 'tuple' | 'dict' | 'other'; count: number };
}

export const SIGNATURE_FILE = 'signature.json';

export function parseDescription(bytes: Uint8Array): PyTorchDescription {
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as PyTorchDescription;
}

/** Native output names when the model declares them (tensor and tuple returns). */
function positionalOutputNames(description: PyTorchDescription): string[] | null {
  const { kind, count } = description.outputs;
  if (kind !== 'tensor' && kind !== 'tuple') return null;
  return Array.from({ length: count }, (_, i) => `output_${i}`);
}

function unknownSpec(name: string): TensorSpec {
  return { name, dtype: DataType.DT_INVALID, shape: null };
}

/** `signatureFile` is signature.json already parsed (undefined when there is none). */
export function buildPyTorchSignatures(description: PyTorchDescription, signatureFile?: unknown): SignatureMap {
  const outputNames = positionalOutputNames(description);
  let inputs = new Map(description.inputs.map((input) => [input.name, unknownSpec(input.name)]));
  let outputs = new Map((outputNames ?? []).map((name) => [name, unknownSpec(name)]));

  if (signatureFile !== undefined) {
    const file = expectObject(signatureFile, SIGNATURE_FILE);
    checkKeys(file, ['inputs', 'outputs'], SIGNATURE_FILE);
    if (file.inputs !== undefined) inputs = readInputs(file.inputs, description);
    if (file.outputs !== undefined) outputs = readOutputs(file.outputs, outputNames);
  }
  return new Map([[DEFAULT_SIGNATURE_NAME, { methodName: PREDICT_METHOD_NAME, inputs, outputs }]]);
}

function readInputs(section: unknown, description: PyTorchDescription): Map<string, TensorSpec> {
  const where = `${SIGNATURE_FILE} "inputs"`;
  const specs = readSpecs(section, where);
  const argumentNames = description.inputs.map((input) => input.name);
  const fed = new Map<string, string>();
  for (const [alias, spec] of specs) {
    if (!argumentNames.includes(spec.name)) {
      throw invalidArgument(
        `${where}: "${alias}" names "${spec.name}", which is not a forward() argument ` +
          `(forward() takes: ${argumentNames.join(', ') || 'nothing'})`,
      );
    }
    const other = fed.get(spec.name);
    if (other !== undefined) {
      throw invalidArgument(`${where}: "${other}" and "${alias}" both feed forward() argument "${spec.name}"`);
    }
    fed.set(spec.name, alias);
  }
  for (const input of description.inputs) {
    if (!input.optional && !fed.has(input.name)) {
      throw invalidArgument(`${where}: forward() argument "${input.name}" is required but not listed`);
    }
  }
  return specs;
}

function readOutputs(section: unknown, outputNames: string[] | null): Map<string, TensorSpec> {
  const where = `${SIGNATURE_FILE} "outputs"`;
  const specs = readSpecs(section, where);
  if (outputNames !== null) {
    for (const [alias, spec] of specs) {
      if (!outputNames.includes(spec.name)) {
        throw invalidArgument(
          `${where}: "${alias}" names "${spec.name}", which the model does not return ` +
            `(it returns: ${outputNames.join(', ')})`,
        );
      }
    }
  }
  return specs;
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
