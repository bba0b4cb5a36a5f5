/**
 * TFRecord's framing, shared by the reader (warmup files) and the writer (request logs). A
 * record is
 *   uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes | data | uint32 masked CRC32C of data
 * as TensorFlow's RecordWriter writes it.
 */
import { buf as crc32c } from 'crc-32/crc32c';

export const LENGTH_BYTES = 8;
export const CRC_BYTES = 4;
export const HEADER_BYTES = LENGTH_BYTES + CRC_BYTES;
const MASK_DELTA = 0xa282ead8;

/** TFRecord's checksum: CRC32C, rotated right by 15 bits, plus a constant. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** The bytes before a record's data: its length and the length's checksum. */
export function recordHeader(dataLength: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeBigUInt64LE(BigInt(dataLength), 0);
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, LENGTH_BYTES)), LENGTH_BYTES);
  return header;
}

/** The bytes after a record's data: the data's checksum. */
export function recordFooter(data: Uint8Array): Buffer {
  const footer = Buffer.alloc(CRC_BYTES);
  footer.writeUInt32LE(maskedCrc32c(data), 0);
  return footer;
}

/** One record, framed: what a file holds for `data`. */
export function framedRecord(data: Uint8Array): Uint8Array[] {
  return [recordHeader(data.length), data, recordFooter(data)];
}

/** Bytes a framed record of `dataLength` bytes takes in a file. */
export function framedLength(dataLength: number): number {
  return HEADER_BYTES + dataLength + CRC_BYTES;
}
