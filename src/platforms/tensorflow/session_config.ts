/**
 * The serialized tensorflow.ConfigProto a SavedModel's session is created with, from
 * tensorflow_model_server's --tensorflow_intra_op_parallelism and
 * --tensorflow_inter_op_parallelism. 0 (or absent) leaves the choice to TensorFlow.
 */
import { Writer } from 'protobufjs/minimal';
import { invalidArgument } from '../../errors/serving_error';

const INTRA_OP_PARALLELISM_THREADS = 2; // int32
const INTER_OP_PARALLELISM_THREADS = 5; // int32
const WIRE_VARINT = 0;

export interface SessionThreads {
  intraOpThreads?: number;
  interOpThreads?: number;
}

function checkThreads(flag: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw invalidArgument(`${flag} must be a non-negative 32-bit integer, got ${value}`);
  }
  return value;
}

/** ConfigProto bytes; empty when both counts are left to TensorFlow. */
export function encodeSessionConfig(threads: SessionThreads): Uint8Array {
  const intra = checkThreads('tensorflow_intra_op_parallelism', threads.intraOpThreads);
  const inter = checkThreads('tensorflow_inter_op_parallelism', threads.interOpThreads);
  const writer = Writer.create();
  if (intra > 0) writer.uint32((INTRA_OP_PARALLELISM_THREADS << 3) | WIRE_VARINT).int32(intra);
  if (inter > 0) writer.uint32((INTER_OP_PARALLELISM_THREADS << 3) | WIRE_VARINT).int32(inter);
  return writer.finish();
}
