/**
 * Reads a TFRecord file record by record (framing: tfrecord_framing.ts), verifying both
 * checksums, as TensorFlow's RecordReader does. Records are read one at a time, so a large
 * file is never held in memory whole.
 */
import * as fs from 'node:fs/promises';
import { ServingError } from '../../errors/serving_error';
import { CRC_BYTES, HEADER_BYTES, LENGTH_BYTES, maskedCrc32c } from './tfrecord_framing';

export interface TFRecord {
  /** 0-based position of the record in the file. */
  index: number;
  /** Byte offset of the record's header in the file. */
  offset: number;
  data: Buffer;
}

/**
 * Yields the records of `file` in order. A bad checksum or a record cut short rejects with a
 * DATA_LOSS ServingError naming the file, the record index and its offset; the caller stops
 * there. The file is closed however iteration ends.
 */
export async function* readTFRecords(file: string): AsyncGenerator<TFRecord> {
  const handle = await fs.open(file, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    const header = Buffer.alloc(HEADER_BYTES);
    for (let index = 0, offset = 0; ; index++) {
      const fail = (what: string) =>
        new ServingError('DATA_LOSS', `${file}: record ${index} at byte offset ${offset}: ${what}`);
      const got = await readFully(handle, header, offset);
      if (got === 0) return;
      if (got < HEADER_BYTES) throw fail(`truncated header (${got} of ${HEADER_BYTES} bytes)`);
      if (header.readUInt32LE(LENGTH_BYTES) !== maskedCrc32c(header.subarray(0, LENGTH_BYTES))) {
        throw fail('corrupted length (CRC32C mismatch)');
      }
      const length = header.readBigUInt64LE(0);
      const remaining = BigInt(fileSize - offset - HEADER_BYTES);
      if (length + BigInt(CRC_BYTES) > remaining) {
        throw fail(`truncated record (length ${length}, ${remaining} bytes left in the file)`);
      }
      const framed = Buffer.alloc(Number(length) + CRC_BYTES);
      await readFully(handle, framed, offset + HEADER_BYTES);
      const data = framed.subarray(0, Number(length));
      if (framed.readUInt32LE(data.length) !== maskedCrc32c(data)) throw fail('corrupted data (CRC32C mismatch)');
      yield { index, offset, data };
      offset += HEADER_BYTES + framed.length;
    }
  } finally {
    await handle.close();
  }
}

/** Reads until `buffer` is full or the file ends; returns the bytes read. */
async function readFully(handle: fs.FileHandle, buffer: Buffer, position: number): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}
