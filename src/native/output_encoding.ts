/**
 * A 'host' output in another encoding, for the callers that run in 'host' and answer in the
 * caller's encoding afterwards (a batch whose tasks differ, a split task's joined pieces, a
 * chain's results).
 */
import { DataType } from '../tensors/data_type';
import type { HostTensorOutput, NativeOutput, OutputEncoding, RawTensorOutput, TensorCodec } from './backend_addon';

/** `output` in `encoding`: as it is for 'host', TensorProto bytes from the codec, or its raw contents. */
export function encodeHostOutput(
  codec: TensorCodec,
  output: HostTensorOutput,
  encoding: OutputEncoding,
): NativeOutput | Promise<NativeOutput> {
  if (encoding === 'host') return output;
  if (encoding === 'raw') return rawOutputOf(output);
  return codec.encode(output.handle, encoding);
}

const BYTES_LENGTH_PREFIX = 4;

/** A 'host' output's raw contents: a view of its bytes, or its BYTES elements length-prefixed (one copy). */
export function rawOutputOf(output: HostTensorOutput): RawTensorOutput {
  const { dtype, shape } = output;
  if (dtype !== DataType.DT_STRING) return { dtype, shape, raw: Buffer.from(output.data ?? new ArrayBuffer(0)) };
  const strings = output.strings ?? [];
  let length = 0;
  for (const element of strings) length += BYTES_LENGTH_PREFIX + element.byteLength;
  const raw = Buffer.allocUnsafe(length);
  let at = 0;
  for (const element of strings) {
    at = raw.writeUInt32LE(element.byteLength, at);
    raw.set(element, at);
    at += element.byteLength;
  }
  return { dtype, shape, raw };
}
