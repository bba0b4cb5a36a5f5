import { Reader } from 'protobufjs/minimal';

const TENSOR_SHAPE_FIELD = 2; // TensorProto.tensor_shape
const DIM_FIELD = 2; // TensorShapeProto.dim
const UNKNOWN_RANK_FIELD = 3; // TensorShapeProto.unknown_rank
const SIZE_FIELD = 1; // TensorShapeProto.Dim.size

/**
 * The shape of TensorProto bytes, read without decoding the tensor (tensor_content and the
 * typed fields are skipped, not copied). No tensor_shape means a scalar ([]). Unparseable
 * bytes or an unknown rank yield undefined: the C++ decoder reports those precisely.
 */
export function tensorProtoShape(bytes: Uint8Array): number[] | undefined {
  const reader = Reader.create(bytes);
  let shape: number[] = [];
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag >>> 3 === TENSOR_SHAPE_FIELD && (tag & 7) === 2) {
        const parsed = readShape(reader, reader.uint32() + reader.pos);
        if (parsed === undefined) return undefined;
        shape = shape.concat(parsed); // a message field seen twice merges: its dims append
      } else {
        reader.skipType(tag & 7);
      }
    }
  } catch {
    return undefined;
  }
  return shape;
}

function readShape(reader: Reader, end: number): number[] | undefined {
  const dims: number[] = [];
  let unknownRank = false;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag >>> 3 === DIM_FIELD && (tag & 7) === 2) {
      const dimEnd = reader.uint32() + reader.pos;
      let size = 0;
      while (reader.pos < dimEnd) {
        const dimTag = reader.uint32();
        if (dimTag >>> 3 === SIZE_FIELD && (dimTag & 7) === 0) size = Number(reader.int64());
        else reader.skipType(dimTag & 7);
      }
      dims.push(size);
    } else if (tag >>> 3 === UNKNOWN_RANK_FIELD && (tag & 7) === 0) {
      unknownRank = reader.bool();
    } else {
      reader.skipType(tag & 7);
    }
  }
  return unknownRank ? undefined : dims;
}
