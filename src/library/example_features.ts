/**
 * tf.Examples as the duoserve package takes them for Classify and Regress (ModelHost and the
 * gRPC client alike): features by name, the kind of each list told by its values' type.
 */
import { Protos } from '../protos';
import type { SerializedInput } from '../servables/serialized_input';

/**
 * One feature of a tf.Example: numbers are a float_list (Float32Array or number[]), bigints an
 * int64_list (BigInt64Array or bigint[]), strings and byte arrays a bytes_list.
 */
export type FeatureValues =
  Float32Array | readonly number[] | BigInt64Array | readonly bigint[] | ReadonlyArray<string | Uint8Array>;

/** A tf.Example as its features by name. */
export type ExampleFeatures = Readonly<Record<string, FeatureValues>>;

/** Classify's and Regress's input: examples, and optionally the context every example shares. */
export interface ExamplesInput {
  examples: readonly ExampleFeatures[];
  /** Sent as example_list_with_context (gRPC) or "context" (REST). */
  context?: ExampleFeatures;
}

/** tensorflow.serving.Input in protobufjs' object form: an example_list, or an example_list_with_context. */
export function inputObject({ examples, context }: ExamplesInput): object {
  const list = examples.map(exampleObject);
  return context === undefined
    ? { example_list: { examples: list } }
    : { example_list_with_context: { examples: list, context: exampleObject(context) } };
}

/** The Input with each tf.Example serialized, as the server's Classify and Regress take it. */
export function serializedInputOf({ examples, context }: ExamplesInput): SerializedInput {
  const list = examples.map(serializedExample);
  return context === undefined
    ? { example_list: { examples: list } }
    : { example_list_with_context: { examples: list, context: serializedExample(context) } };
}

function serializedExample(features: ExampleFeatures): Uint8Array {
  return Protos.Example.encode(Protos.Example.fromObject(exampleObject(features))).finish();
}

function exampleObject(features: ExampleFeatures) {
  return {
    features: {
      feature: Object.fromEntries(Object.entries(features).map(([name, values]) => [name, featureObject(values)])),
    },
  };
}

function featureObject(values: FeatureValues) {
  const list = [...values] as Array<number | bigint | string | Uint8Array>;
  if (values instanceof BigInt64Array || typeof list[0] === 'bigint') {
    return { int64_list: { value: list.map((value) => (value as bigint).toString()) } };
  }
  if (typeof list[0] === 'string' || list[0] instanceof Uint8Array) {
    return { bytes_list: { value: list.map((value) => (typeof value === 'string' ? Buffer.from(value) : value)) } };
  }
  return { float_list: { value: list as number[] } };
}
