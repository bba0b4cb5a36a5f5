/**
 * inference.ModelInferRequest as protobufjs decodes it, made into the protocol-neutral
 * InferRequest (open_inference/infer_request.ts). protobufjs reads a Buffer's `bytes` fields as
 * slices of it, so each raw_input_contents entry reaches OpenInference as a view of the request
 * (no copy). What only gRPC's form can get wrong is checked here, in Triton's words: raw and
 * typed contents mixed, typed contents in the wrong field for the datatype, an input without data.
 */
import { invalidArgument } from '../../errors/serving_error';
import type {
  InferInput,
  InferInputContents,
  InferParameters,
  InferParameterValue,
  InferRequest,
} from '../open_inference/infer_request';
import { dataTypeOfV2 } from '../../tensors/v2_datatype';

/** An int64 or uint64 as protobufjs decodes it: a Long (signed or unsigned), or a number. */
type Int64 = number | { toNumber(): number; toString(): string };

interface InferParameterMessage {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
}

type ParameterMap = Record<string, InferParameterMessage>;

/** InferTensorContents: the typed fields, each a list of the values it carries. */
interface TensorContentsMessage {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: Int64[];
  uint_contents: number[];
  uint64_contents: Int64[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

type ContentsField = keyof TensorContentsMessage;

interface InputTensorMessage {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters: ParameterMap;
  contents?: TensorContentsMessage | null;
}

/** The message as protobufjs decodes it (keepCase: the .proto's field names). */
export interface ModelInferRequestMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters: ParameterMap;
  inputs: InputTensorMessage[];
  outputs: Array<{ name: string; parameters: ParameterMap }>;
  raw_input_contents: Buffer[];
}

/** The one typed field each datatype's values travel in (FP16 and BF16 have none: raw contents only). */
const CONTENTS_FIELD: Readonly<Partial<Record<string, ContentsField>>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** The datatype each typed field holds, as Triton names it in its error. */
const FIELD_DATATYPE: Readonly<Record<ContentsField, string>> = {
  bool_contents: 'BOOL',
  int_contents: 'INT32',
  int64_contents: 'INT64',
  uint_contents: 'UINT32',
  uint64_contents: 'UINT64',
  fp32_contents: 'FP32',
  fp64_contents: 'FP64',
  bytes_contents: 'BYTES',
};

const CONTENTS_FIELDS = Object.keys(FIELD_DATATYPE) as ContentsField[];

/** An int64 or uint64 exactly: a number where it is a safe integer, else a bigint. */
function exactInteger(value: Int64): number | bigint {
  if (typeof value === 'number') return value;
  const number = value.toNumber();
  return Number.isSafeInteger(number) ? number : BigInt(value.toString());
}

function parametersOf(message: ParameterMap | undefined): InferParameters {
  const parameters = new Map<string, InferParameterValue>();
  for (const [key, parameter] of Object.entries(message ?? {})) {
    const choice = parameter.parameter_choice;
    if (choice === undefined) continue; // an InferParameter with nothing set says nothing
    const value = parameter[choice]!;
    parameters.set(key, typeof value === 'object' ? exactInteger(value) : value);
  }
  return parameters;
}

/** A shape dimension as a number (a dimension past 2^53 fails the size checks anyway). */
const dimension = (value: Int64) => (typeof value === 'number' ? value : value.toNumber());

function typedContents(input: InputTensorMessage, contents: TensorContentsMessage, model: string): InferInputContents {
  const where = `for input tensor '${input.name}' for model '${model}'`;
  const used = CONTENTS_FIELDS.filter((field) => contents[field].length > 0);
  if (used.length > 1) {
    throw invalidArgument(`unexpected explicit tensor data ${where}: more than one contents field is set`);
  }
  if (used.length === 0) return { values: [] };
  const [field] = used;
  // An unknown datatype is OpenInference's to reject, with the others.
  if (dataTypeOfV2(input.datatype) !== undefined && CONTENTS_FIELD[input.datatype] !== field) {
    throw invalidArgument(
      `unexpected explicit tensor data ${where} of type '${FIELD_DATATYPE[field]}', expected datatype '${input.datatype}'`,
    );
  }
  if (field === 'int64_contents' || field === 'uint64_contents') return { values: contents[field].map(exactInteger) };
  return { values: contents[field] };
}

/**
 * The InferRequest a decoded ModelInferRequest stands for. Raw contents are used for all the
 * inputs or for none (they pair with the inputs by index, as Triton reads them).
 */
export function inferRequestOf(message: ModelInferRequestMessage): InferRequest {
  const model = message.model_name;
  const raw = message.raw_input_contents;
  if (raw.length > 0 && raw.length !== message.inputs.length) {
    throw invalidArgument(
      `expected ${message.inputs.length} raw_input_contents, one for each input, for model '${model}', got ${raw.length}`,
    );
  }
  const inputs = message.inputs.map((input, index): InferInput => {
    let contents: InferInputContents;
    if (input.contents && raw.length > 0) {
      throw invalidArgument(
        `contents field must not be specified when using raw_input_contents for '${input.name}' for model '${model}'`,
      );
    } else if (input.contents) {
      contents = typedContents(input, input.contents, model);
    } else if (raw.length > 0) {
      contents = { raw: raw[index] };
    } else {
      throw invalidArgument(`unable to find data for input tensor '${input.name}' for model '${model}' in request.`);
    }
    return {
      name: input.name,
      datatype: input.datatype,
      shape: input.shape.map(dimension),
      parameters: parametersOf(input.parameters),
      contents,
    };
  });
  return {
    modelName: model,
    modelVersion: message.model_version,
    id: message.id,
    parameters: parametersOf(message.parameters),
    inputs,
    outputs: message.outputs.map((output) => ({ name: output.name, parameters: parametersOf(output.parameters) })),
  };
}
