/**
 * The SignatureMap of a loaded SavedModel, read from the serialized MetaGraphDef the
 * TensorFlow addon's describe() returns. Only signature_def is decoded, straight from the
 * wire (tensorflow/core/protobuf/meta_graph.proto numbers below): a MetaGraphDef also holds
 * the whole GraphDef, which is skipped without being materialized.
 */
import { Reader } from 'protobufjs/minimal';
import type { Signature, SignatureMap, TensorSpec } from '../../servables/signature';

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

const META_GRAPH_DEF_SIGNATURE_DEF = 5; // map<string, SignatureDef>
const MAP_KEY = 1;
const MAP_VALUE = 2;
const SIGNATURE_DEF_INPUTS = 1; // map<string, TensorInfo>
const SIGNATURE_DEF_OUTPUTS = 2; // map<string, TensorInfo>
const SIGNATURE_DEF_METHOD_NAME = 3;
const TENSOR_INFO_NAME = 1; // oneof encoding: a dense tensor
const TENSOR_INFO_DTYPE = 2;
const TENSOR_INFO_SHAPE = 3;
const TENSOR_INFO_COO_SPARSE = 4; // oneof encoding
const TENSOR_INFO_COMPOSITE = 5; // oneof encoding
const SHAPE_DIM = 2;
const SHAPE_UNKNOWN_RANK = 3;
const DIM_SIZE = 1;

/** Run by the SavedModel loader itself; TF-Serving does not serve it. */

type FieldVisitor = (field: number, wireType: number) => boolean;

/** Visits each field up to `end`; a visitor returns false for fields it did not consume. */
function readFields(reader: Reader, end: number, visit: FieldVisitor): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (!visit(tag >>> 3, tag & 7)) reader.skipType(tag & 7);
  }
}

/** Reads one length-delimited submessage with `read(reader, end)`. */
function readMessage<T>(reader: Reader, read: (reader: Reader, end: number) => T): T {
  const length = reader.uint32();
  return read(reader, reader.pos + length);
}

/** A map<string, Message> entry; an absent value is the message's default. */
function readMapEntry<T>(reader: Reader, readValue: (reader: Reader, end: number) => T): [string, T] {
  return readMessage(reader, (r, end) => {
    let key = '';
    let value: { read: T } | undefined; // boxed: a value reader may return null
    readFields(r, end, (field, wireType) => {
      if (wireType !== WIRE_BYTES) return false;
      if (field === MAP_KEY) key = r.string();
      else if (field === MAP_VALUE) value = { read: readMessage(r, readValue) };
      else return false;
      return true;
    });
    return [key, value ? value.read : readValue(Reader.create(new Uint8Array(0)), 0)];
  });
}

/** A signed int64 varint as a number (dims are far below 2^53). */
function toNumber(value: number | { low: number; high: number }): number {
  return typeof value === 'number' ? value : value.high * 0x100000000 + (value.low >>> 0);
}

/** TensorShapeProto: sizes (-1 unknown), or null for unknown rank. */
function readShape(reader: Reader, end: number): number[] | null {
  const dims: number[] = [];
  let unknownRank = false;
  readFields(reader, end, (field, wireType) => {
    if (field === SHAPE_DIM && wireType === WIRE_BYTES) {
      dims.push(
        readMessage(reader, (r, dimEnd) => {
          let size = 0;
          readFields(r, dimEnd, (dimField, dimWire) => {
            if (dimField !== DIM_SIZE || dimWire !== WIRE_VARINT) return false;
            size = toNumber(r.int64());
            return true;
          });
          return size;
        }),
      );
    } else if (field === SHAPE_UNKNOWN_RANK && wireType === WIRE_VARINT) {
      unknownRank = reader.bool();
    } else {
      return false;
    }
    return true;
  });
  return unknownRank ? null : dims;
}

/** TensorInfo as a TensorSpec, or null when it is not a dense tensor (sparse, composite). */
function readTensorInfo(reader: Reader, end: number): TensorSpec | null {
  let name: string | null = null;
  let dtype = 0;
  // An absent tensor_shape is the default TensorShapeProto: known rank 0.
  let shape: number[] | null = [];
  readFields(reader, end, (field, wireType) => {
    if (field === TENSOR_INFO_NAME && wireType === WIRE_BYTES) name = reader.string();
    else if (field === TENSOR_INFO_DTYPE && wireType === WIRE_VARINT) dtype = reader.int32();
    else if (field === TENSOR_INFO_SHAPE && wireType === WIRE_BYTES) shape = readMessage(reader, readShape);
    else if (field === TENSOR_INFO_COO_SPARSE || field === TENSOR_INFO_COMPOSITE) {
      name = null; // the oneof's last member wins
      return false;
    } else return false;
    return true;
  });
  return name === null ? null : { name, dtype, shape };
}

/** SignatureDef as a Signature, or null when a tensor in it is not dense. */
function readSignatureDef(reader: Reader, end: number): Signature | null {
  const signature: Signature = { methodName: '', inputs: new Map(), outputs: new Map() };
  let dense = true;
  readFields(reader, end, (field, wireType) => {
    if (wireType !== WIRE_BYTES) return false;
    if (field === SIGNATURE_DEF_INPUTS || field === SIGNATURE_DEF_OUTPUTS) {
      const [alias, spec] = readMapEntry(reader, readTensorInfo);
      if (spec === null) dense = false;
      else (field === SIGNATURE_DEF_INPUTS ? signature.inputs : signature.outputs).set(alias, spec);
    } else if (field === SIGNATURE_DEF_METHOD_NAME) {
      signature.methodName = reader.string();
    } else {
      return false;
    }
    return true;
  });
  return dense ? signature : null;
}

/**
 * The servable signatures of a serialized tensorflow.MetaGraphDef. Signatures with a sparse
 * or composite tensor are left out (duoserve feeds dense tensors only). The loader's
 * "__saved_model_init_op" stays: TF-Serving's GetModelMetadata lists it too.
 */
export function parseSignatureDefs(metaGraphDef: Uint8Array): SignatureMap {
  const reader = Reader.create(metaGraphDef);
  const signatures: SignatureMap = new Map();
  readFields(reader, reader.len, (field, wireType) => {
    if (field !== META_GRAPH_DEF_SIGNATURE_DEF || wireType !== WIRE_BYTES) return false;
    const [name, signature] = readMapEntry(reader, readSignatureDef);
    if (signature !== null) signatures.set(name, signature);
    return true;
  });
  return signatures;
}
