/**
 * The "tfrecord" LogCollector: records go to files `<filename_prefix>.<unix ms>-<pid>-<n>`, each
 * a TFRecord file (TFRecordWriter) of serialized PredictionLogs, which tf.data.TFRecordDataset
 * reads and which serves as a SavedModel warmup file as it is.
 *
 * collect() only queues: one write at a time drains the queue on libuv's pool, so a request
 * never waits for the disk. The queue holds at most `bufferBytes` of framed records; a record
 * beyond that is dropped at once and counted (duoserve_request_log_dropped_records_total,
 * reason "buffer_full"). A file is created at its first record and closed (fsynced) once it
 * reaches `maxFileBytes` or `maxFileRecords` (the next record starts the next file), when the
 * collector is closed (a config reload that changes or removes the model's logging_config,
 * shutdown), and after a write error, whose records are counted as "write_error".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Log } from '../core/log';
import { invalidArgument } from '../errors/serving_error';
import { recordLogRecordsDropped } from '../monitoring/request_log_metrics';
import { framedLength } from '../servables/warmup/tfrecord_framing';
import { TFRecordWriter } from '../servables/warmup/tfrecord_writer';

export interface TFRecordLogOptions {
  /** --duoserve_request_log_max_file_bytes: a file is closed once it holds this much (at least one record). */
  maxFileBytes: number;
  /** --duoserve_request_log_max_file_records: ... or this many records; 0: no limit. */
  maxFileRecords: number;
  /** --duoserve_request_log_buffer_bytes: framed records waiting for the disk, at most. */
  bufferBytes: number;
  log: Log;
}

/** The flags' defaults: 128 MiB files, no record limit, 16 MiB waiting for the disk. */
export const DEFAULT_MAX_FILE_BYTES = 128 * 1024 * 1024;
export const DEFAULT_MAX_FILE_RECORDS = 0;
export const DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024;

/** Files created by this process, numbered in order: with the time and the pid, a unique name. */
let filesCreated = 0;

export class TFRecordLogCollector {
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private writer: TFRecordWriter | undefined;
  /** The drain in progress, if any. */
  private writing: Promise<void> | undefined;
  private closed = false;
  private failing = false;

  private constructor(
    private readonly prefix: string,
    private readonly options: TFRecordLogOptions,
  ) {}

  /** INVALID_ARGUMENT when `prefix` is empty or its directory is no writable directory. */
  static create(prefix: string, options: TFRecordLogOptions): TFRecordLogCollector {
    if (prefix === '') throw invalidArgument('LogCollectorConfig.filename_prefix is empty');
    const dir = path.dirname(prefix);
    try {
      if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (error) {
      throw invalidArgument(
        `LogCollectorConfig.filename_prefix ${prefix}: ${dir} is no writable directory (${(error as Error).message})`,
      );
    }
    return new TFRecordLogCollector(prefix, options);
  }

  collect(record: Uint8Array): boolean {
    const length = framedLength(record.length);
    if (this.closed || this.queuedBytes + length > this.options.bufferBytes) {
      recordLogRecordsDropped(this.prefix, this.closed ? 'closed' : 'buffer_full');
      return false;
    }
    this.queue.push(record);
    this.queuedBytes += length;
    this.writing ??= this.drain();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    await this.closeFile();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const writer = this.writer ?? (await this.openFile());
      const batch = writer ? this.takeBatch(writer) : this.queue.splice(0);
      if (batch.length === 0) {
        await this.closeFile(); // full: the next record starts the next file
        continue;
      }
      let bytes = 0;
      for (const record of batch) bytes += framedLength(record.length);
      try {
        if (!writer) throw new Error('the file could not be created');
        await writer.write(batch);
        this.failing = false;
        if (this.atLimit(writer.size, writer.recordCount)) await this.closeFile();
      } catch (error) {
        recordLogRecordsDropped(this.prefix, 'write_error', batch.length);
        this.failed(writer?.file ?? this.prefix, error);
        await this.closeFile().catch(() => undefined);
      } finally {
        this.queuedBytes -= bytes;
      }
    }
    this.writing = undefined;
  }

  /** The queued records that fit `writer`'s file; a file's first record always fits. */
  private takeBatch(writer: TFRecordWriter): Uint8Array[] {
    let size = writer.size;
    let records = writer.recordCount;
    let count = 0;
    while (count < this.queue.length) {
      const length = framedLength(this.queue[count].length);
      if (records > 0 && (size + length > this.options.maxFileBytes || this.atLimit(size, records))) break;
      size += length;
      records++;
      count++;
    }
    return this.queue.splice(0, count);
  }

  /** A file this big, with this many records, takes no more. */
  private atLimit(size: number, records: number): boolean {
    const { maxFileBytes, maxFileRecords } = this.options;
    return size >= maxFileBytes || (maxFileRecords > 0 && records >= maxFileRecords);
  }

  private async openFile(): Promise<TFRecordWriter | undefined> {
    const file = `${this.prefix}.${Date.now()}-${process.pid}-${++filesCreated}`;
    try {
      this.writer = await TFRecordWriter.create(file);
      return this.writer;
    } catch (error) {
      this.failed(file, error);
      return undefined;
    }
  }

  private async closeFile(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    await writer?.close();
  }

  /** Logs the first of a run of failures (a full disk fails every write). */
  private failed(file: string, error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.options.log('ERROR', `Request log ${file}: ${(error as Error).message}; its records are dropped`);
  }
}
