/**
 * A TorchScript model's SignatureMap: one signature, "serving_default" (Predict), built from the
 * addon's Describe() JSON and, optionally, the version directory's `signature.json`.
 * (AOTInductor packages: aoti_signatures.ts, same signature.json format.)
 *
 * Without signature.json, inputs are forward()'s Tensor arguments (alias = TensorInfo.name =
 * argument name) and outputs are the names the addon read from forward()'s schema and graph
 * (native/pytorch/torchscript_output_names.h): output_0 for a Tensor, output_0..output_{N-1}
 * for a tuple or list (nested ones flattened), the keys of a dict literal with constant keys.
 * Where only a run can tell the names (keys computed, a dict changed after it is built), no
 * outputs are listed, Predict returns whatever forward() returned, and the load log says so
 * (unlistedOutputsWarning). dtype is DT_INVALID and shape null (unknown rank): TorchScript
 * declares neither, so a request's own dtype is what forward() gets (gRPC: the TensorProto's;
 * REST: numbers as DT_FLOAT, true/false as DT_BOOL). Guessing DT_FLOAT instead would be wrong
 * for models that take integer or bool tensors, and the servable would then refuse them.
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
import { DEFAULT_SIGNATURE_NAME, PREDICT_METHOD_NAME, SignatureMap, TensorSpec } from '../../servables/signature';
import { DataType } from '../../tensors/data_type';
import type { AotiDescription } from './aoti_signatures';
import { readSignatureSections, SIGNATURE_FILE } from './signature_file';

export { SIGNATURE_FILE } from './signature_file';

/** What the addon's describe() returns for a TorchScript model (JSON). */
export interface PyTorchDescription {
  format: 'torchscript';
  inputs: Array<{ name: string; type: string; optional: boolean }>;
  /**
   * forward()'s return type, and the names its run will give the outputs, or null when only a
   * run can tell (then `unknown_because` says why).
   */
  outputs: { type: string; names: string[] | null; unknown_because?: string };
}

/** Any PyTorch model's description, told apart by `format`. */
export type ModelDescription = PyTorchDescription | AotiDescription;

export function parseDescription(bytes: Uint8Array): ModelDescription {
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as ModelDescription;
}

function unknownSpec(name: string): TensorSpec {
  return { name, dtype: DataType.DT_INVALID, shape: null };
}

/** `signatureFile` is signature.json already parsed (undefined when there is none). */
export function buildPyTorchSignatures(description: PyTorchDescription, signatureFile?: unknown): SignatureMap {
  const outputNames = description.outputs.names;
  let inputs = new Map(description.inputs.map((input) => [input.name, unknownSpec(input.name)]));
  let outputs = new Map((outputNames ?? []).map((name) => [name, unknownSpec(name)]));

  if (signatureFile !== undefined) {
    const file = readSignatureSections(signatureFile, SIGNATURE_FILE);
    if (file.inputs !== undefined) inputs = checkInputs(file.inputs, description);
    if (file.outputs !== undefined) outputs = checkOutputs(file.outputs, outputNames);
  }
  return new Map([[DEFAULT_SIGNATURE_NAME, { methodName: PREDICT_METHOD_NAME, inputs, outputs }]]);
}

/**
 * What the load log should say when the signature lists no outputs because forward()'s names
 * are known only at run time (and signature.json names none); undefined otherwise.
 */
export function unlistedOutputsWarning(description: PyTorchDescription, signatures: SignatureMap): string | undefined {
  const { type, names, unknown_because: why } = description.outputs;
  if (names !== null || signatures.get(DEFAULT_SIGNATURE_NAME)!.outputs.size > 0) return undefined;
  return (
    `forward() returns ${type} whose output names only a run can tell: ${why}. GetModelMetadata lists no ` +
    `outputs and Predict returns whatever forward() returns; name them in ${SIGNATURE_FILE} ` +
    `("outputs": {"<name>": {}}) to list them`
  );
}

function checkInputs(specs: Map<string, TensorSpec>, description: PyTorchDescription): Map<string, TensorSpec> {
  const where = `${SIGNATURE_FILE} "inputs"`;
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

function checkOutputs(specs: Map<string, TensorSpec>, outputNames: string[] | null): Map<string, TensorSpec> {
  const where = `${SIGNATURE_FILE} "outputs"`;
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
