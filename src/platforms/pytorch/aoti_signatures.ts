/**
 * An AOTInductor package's SignatureMap: one signature, "serving_default" (Predict).
 *
 * The package's compiled model takes the flat list of tensors that its call spec's in_spec
 * gives for forward()'s (args, kwargs), and returns the flat list of its out_spec; the addon
 * names them by position: input_0.., output_0.. (TensorInfo.name). Aliases, three layers, each
 * overriding the one before:
 *  1. the call spec: a keyword argument's tensor is named by the keyword ("features", nested
 *     ones "features.mask"), an output under a dict key by the key ("probabilities"); any
 *     other tensor by its position (input_3, output_0). dtype and shape unknown: torch records
 *     neither.
 *  2. the package metadata key "duoserve_signature" (inductor_configs["aot_inductor.metadata"]
 *     at compile time; scripts/models/aoti_format.py writes it from the ExportedProgram): a
 *     signature.json document.
 *  3. signature.json beside the package (same format as for TorchScript, signatures.ts).
 * A layer's section ("inputs"/"outputs"), where present, replaces the one below; a spec's
 * "name" may be the position (input_0) or an alias of a layer below ("features"); where it leaves dtype
 * or shape out, the layer below's spec for the same tensor fills it in.
 *
 * Every input must end up with a dtype and a shape: the compiled code reads its inputs with the
 * sizes it was compiled for and checks nothing, so the servable checks each request against
 * them (aoti_servable.ts). A package that says neither, without a signature.json saying them,
 * does not load.
 */
import { invalidArgument } from '../../errors/serving_error';
import { DEFAULT_SIGNATURE_NAME, PREDICT_METHOD_NAME, SignatureMap, TensorSpec } from '../../servables/signature';
import { DataType } from '../../tensors/data_type';
import { parseModelFileJson } from './model_file_json';
import { parseTreeSpec, PathStep, TreeSpec } from './pytree_spec';
import { readSignatureSections, SIGNATURE_FILE, SignatureSections } from './signature_file';

/** What the addon's describe() returns for an AOTInductor package (JSON). */
export interface AotiDescription {
  format: 'aoti';
  /** The package's file name inside the version directory. */
  file: string;
  /** Model instances that may run at once. */
  runners: number;
  /** The package's metadata: AOTI_DEVICE_KEY, AOTI_CPU_ISA, ..., duoserve_signature. */
  metadata: Record<string, string>;
  in_spec: string;
  out_spec: string;
}

export const SIGNATURE_METADATA_KEY = 'duoserve_signature';

/** One tensor of the flat calling convention. */
interface Position {
  native: string;
  alias: string;
}

function stepText(step: PathStep): string {
  return 'key' in step ? step.key : String(step.index);
}

/** in_spec is (args, kwargs): keyword tensors are named by their keyword path. */
function inputPositions(spec: TreeSpec): Position[] {
  const isCall = spec.children.length === 2 && spec.children[1].keys !== null;
  return spec.leafPaths().map((path, i) => {
    const native = `input_${i}`;
    const keyword = isCall && path.length >= 2 && 'index' in path[0] && path[0].index === 1;
    return { native, alias: keyword ? path.slice(1).map(stepText).join('.') : native };
  });
}

function outputPositions(spec: TreeSpec): Position[] {
  return spec.leafPaths().map((path, i) => {
    const native = `output_${i}`;
    return { native, alias: path.length > 0 && 'key' in path[0] ? path.map(stepText).join('.') : native };
  });
}

function unknownSpecs(positions: Position[]): Map<string, TensorSpec> {
  return new Map(
    positions.map(({ native, alias }) => [alias, { name: native, dtype: DataType.DT_INVALID, shape: null }]),
  );
}

function describe(positions: Position[]): string {
  return (
    positions.map(({ native, alias }) => (alias === native ? native : `${alias} (${native})`)).join(', ') || 'nothing'
  );
}

/** Resolves each spec's name to a position and fills dtype/shape from `below` (same tensor). */
function layer(
  section: Map<string, TensorSpec>,
  below: Map<string, TensorSpec>,
  positions: Position[],
  where: string,
  direction: 'input' | 'output',
): Map<string, TensorSpec> {
  // A name may be a position, an alias of the layer below, or a call-spec alias.
  const byName = new Map<string, string>(positions.map(({ native, alias }) => [alias, native]));
  for (const [alias, spec] of below) byName.set(alias, spec.name);
  for (const { native } of positions) byName.set(native, native);
  const belowByNative = new Map([...below.values()].map((spec) => [spec.name, spec]));
  const fedBy = new Map<string, string>();
  const result = new Map<string, TensorSpec>();
  for (const [alias, spec] of section) {
    const native = byName.get(spec.name);
    if (native === undefined) {
      throw invalidArgument(
        `${where}: "${alias}" names "${spec.name}", which is not an ${direction} of the package ` +
          `(its ${direction}s: ${describe(positions)})`,
      );
    }
    const other = fedBy.get(native);
    if (other !== undefined)
      throw invalidArgument(`${where}: "${other}" and "${alias}" both name ${direction} ${native}`);
    fedBy.set(native, alias);
    const fallback = belowByNative.get(native);
    result.set(alias, {
      name: native,
      dtype: spec.dtype !== DataType.DT_INVALID ? spec.dtype : (fallback?.dtype ?? DataType.DT_INVALID),
      shape: spec.shape ?? fallback?.shape ?? null,
    });
  }
  if (direction === 'input') {
    for (const { native, alias } of positions) {
      if (!fedBy.has(native)) {
        throw invalidArgument(
          `${where}: input ${alias === native ? native : `"${alias}" (${native})`} is required but not listed`,
        );
      }
    }
  }
  return result;
}

function recordedSections(description: AotiDescription, source: string): SignatureSections {
  const text = description.metadata[SIGNATURE_METADATA_KEY];
  if (text === undefined) return {};
  return readSignatureSections(parseModelFileJson(text, source), source);
}

function requireCheckableInputs(inputs: Map<string, TensorSpec>, description: AotiDescription): void {
  for (const [alias, spec] of inputs) {
    if (spec.dtype === DataType.DT_INVALID || spec.shape === null) {
      throw invalidArgument(
        `${description.file}: input "${alias}" (${spec.name}) has no ${spec.dtype === DataType.DT_INVALID ? 'dtype' : 'shape'}; ` +
          `AOTInductor code does not check its inputs, so duoserve must: record the signature in the package ` +
          `(metadata "${SIGNATURE_METADATA_KEY}", see scripts/models/aoti_format.py) or give every input a dtype ` +
          `and a shape in ${SIGNATURE_FILE}`,
      );
    }
  }
}

/** `signatureFile` is signature.json already parsed (undefined when there is none). */
export function buildAotiSignatures(description: AotiDescription, signatureFile?: unknown): SignatureMap {
  const takes = inputPositions(parseTreeSpec(description.in_spec, `in_spec of ${description.file}`));
  const returns = outputPositions(parseTreeSpec(description.out_spec, `out_spec of ${description.file}`));
  let inputs = unknownSpecs(takes);
  let outputs = unknownSpecs(returns);

  const recorded = `${description.file} metadata "${SIGNATURE_METADATA_KEY}"`;
  const layers: Array<[SignatureSections, string]> = [[recordedSections(description, recorded), recorded]];
  if (signatureFile !== undefined) layers.push([readSignatureSections(signatureFile, SIGNATURE_FILE), SIGNATURE_FILE]);
  for (const [sections, source] of layers) {
    if (sections.inputs) inputs = layer(sections.inputs, inputs, takes, `${source} "inputs"`, 'input');
    if (sections.outputs) outputs = layer(sections.outputs, outputs, returns, `${source} "outputs"`, 'output');
  }
  requireCheckableInputs(inputs, description);
  return new Map([[DEFAULT_SIGNATURE_NAME, { methodName: PREDICT_METHOD_NAME, inputs, outputs }]]);
}
