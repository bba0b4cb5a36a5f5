/**
 * Appends records to a TFRecord file (framing: tfrecord_framing.ts), as TensorFlow's
 * RecordWriter writes them without compression: what tf.data.TFRecordDataset, the reader beside
 * this file and SavedModel warmup read. Not safe for concurrent write() calls: its one user
 * (the request log's collector) awaits each write before the next.
 */
import * as fs from 'node:fs/promises';
import { framedLength, framedRecord } from './tfrecord_framing';

/** The most buffers one writev is given (IOV_MAX is 1024 on Linux; three per record). */
const MAX_RECORDS_PER_WRITE = 256;

export class TFRecordWriter {
  private bytes = 0;
  private records = 0;

  private constructor(
    readonly file: string,
    private readonly handle: fs.FileHandle,
  ) {}

  /** Creates `file`; an existing file is an error (EEXIST), never overwritten. */
  static async create(file: string): Promise<TFRecordWriter> {
    return new TFRecordWriter(file, await fs.open(file, 'wx'));
  }

  /** Bytes written so far. */
  get size(): number {
    return this.bytes;
  }

  get recordCount(): number {
    return this.records;
  }

  /** Appends `records` in order, each framed. */
  async write(records: readonly Uint8Array[]): Promise<void> {
    for (let start = 0; start < records.length; start += MAX_RECORDS_PER_WRITE) {
      const slice = records.slice(start, start + MAX_RECORDS_PER_WRITE);
      const buffers = slice.flatMap(framedRecord);
      let length = 0;
      for (const record of slice) length += framedLength(record.length);
      await writeAll(this.handle, buffers, length);
      this.bytes += length;
      this.records += slice.length;
    }
  }

  /** Flushes to the file system and closes the file. */
  async close(): Promise<void> {
    try {
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }
}

/** writev until every byte is written (a short write goes on from where it stopped). */
async function writeAll(handle: fs.FileHandle, buffers: Uint8Array[], length: number): Promise<void> {
  let written = (await handle.writev(buffers)).bytesWritten;
  if (written === length) return;
  const all = Buffer.concat(buffers);
  while (written < length) written += (await handle.write(all, written)).bytesWritten;
}
