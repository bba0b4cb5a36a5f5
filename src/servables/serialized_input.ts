/**
 * tensorflow.serving.Input with every tf.Example still serialized (duoserve.envelope's
 * SerializedInput, as protobufjs decodes it), and the one tensor Classify, Regress and
 * MultiInference feed a model: DT_STRING [n], one serialized Example per element.
 */
import { invalidArgument } from '../errors/serving_error';
import { DataType } from '../tensors/data_type';

export interface SerializedInput {
  example_list?: { examples: Uint8Array[] } | null;
  example_list_with_context?: { examples: Uint8Array[]; context?: Uint8Array | null } | null;
}

export type SerializedExamplesTensor = { dtype: typeof DataType.DT_STRING; shape: [number]; strings: Uint8Array[] };

/**
 * The examples of `input`, each merged with the context when there is one. Merging is
 * concatenation: protobuf parses consecutive serialized messages as one merged message (the
 * example's features replace the context's of the same name), which is what TF-Serving feeds.
 */
export function serializedExamples(input: SerializedInput | null | undefined): Uint8Array[] {
  if (input?.example_list) return input.example_list.examples;
  const withContext = input?.example_list_with_context;
  if (!withContext) return [];
  const context = withContext.context ?? new Uint8Array(0);
  if (context.length === 0) return withContext.examples;
  return withContext.examples.map((example) => Buffer.concat([context, example]));
}

/** The input tensor of a Classify/Regress/MultiInference run; "Input is empty." without examples. */
export function serializedExamplesTensor(input: SerializedInput | null | undefined): SerializedExamplesTensor {
  const strings = serializedExamples(input);
  if (strings.length === 0) throw invalidArgument('Input is empty.');
  return { dtype: DataType.DT_STRING, shape: [strings.length], strings };
}
