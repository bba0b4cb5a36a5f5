import { Reader } from 'protobufjs/minimal';

const DTYPE_FIELD = 1;

/**
 * The dtype field of TensorProto bytes, read without decoding the tensor: serializers write
 * field 1 first, so this usually reads one varint. Unparseable bytes yield undefined (the
 * C++ decoder reports those with a precise message).
 */
export function tensorProtoDtype(bytes: Uint8Array): number | undefined {
  const reader = Reader.create(bytes);
  let dtype: number | undefined;
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag >>> 3 === DTYPE_FIELD && (tag & 7) === 0) {
        dtype = reader.uint32();
      } else {
        reader.skipType(tag & 7);
      }
      if (dtype !== undefined) return dtype;
    }
  } catch {
    return undefined;
  }
  return 0; // proto3 default: DT_INVALID
}
