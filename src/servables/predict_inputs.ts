/**
 * The inputs of a PredictRequest decoded as its envelope (proto/duoserve/wire_envelopes.proto:
 * `map<string, bytes> inputs`), for Predict and its warmup replay alike.
 */

/**
 * Each input's TensorProto bytes, by alias. A map entry on the wire may omit its value, which
 * means an empty TensorProto; protobufjs gives such an entry an empty array rather than bytes,
 * so it is turned into empty bytes here, and the decoder answers it as any empty TensorProto.
 */
export function predictInputs(inputs: Record<string, Uint8Array>): Map<string, Uint8Array> {
  return new Map(
    Object.entries(inputs).map(([alias, bytes]) => [alias, bytes instanceof Uint8Array ? bytes : new Uint8Array(0)]),
  );
}
