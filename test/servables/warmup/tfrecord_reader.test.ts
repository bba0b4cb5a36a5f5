import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { ServingError } from '../../../src/errors/serving_error';
import { maskedCrc32c } from '../../../src/servables/warmup/tfrecord_framing';
import { readTFRecords, type TFRecord } from '../../../src/servables/warmup/tfrecord_reader';
import { tempDir, warmupFiles, type WarmupFiles } from './warmup_files';

async function readAll(file: string): Promise<TFRecord[]> {
  const records: TFRecord[] = [];
  for await (const record of readTFRecords(file)) records.push(record);
  return records;
}

/** `bytes` written to a new file; returns its path. */
function fileWith(dir: string, name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

async function assertDataLoss(file: string, ...fragments: string[]) {
  await assert.rejects(readAll(file), (error: unknown) => {
    assert.ok(error instanceof ServingError);
    assert.equal(error.code, 'DATA_LOSS');
    for (const fragment of [file, ...fragments]) assert.ok(error.message.includes(fragment), error.message);
    return true;
  });
}

describe('readTFRecords', () => {
  let files: WarmupFiles;
  let dir: string;
  let predict: Buffer;

  before(() => {
    files = warmupFiles();
    dir = tempDir('duoserve-tfrecord-');
    predict = fs.readFileSync(files.path('predict'));
  });

  test('masked CRC32C: the standard check value, masked as TFRecord masks it', () => {
    // CRC32C("123456789") = 0xe3069283; masked = rotr15 + 0xa282ead8.
    const crc = 0xe3069283;
    const expected = ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
    assert.equal(maskedCrc32c(Buffer.from('123456789')), expected);
  });

  test('reads every record of files written by TensorFlow, in order, with index and offset', async () => {
    for (const name of ['predict', 'classify', 'too_many'] as const) {
      const records = await readAll(files.path(name));
      const expected = files.manifest.records[name].map((b64) => Buffer.from(b64, 'base64'));
      assert.deepEqual(
        records.map((r) => r.data),
        expected,
      );
      assert.deepEqual(
        records.map((r) => r.index),
        expected.map((_, i) => i),
      );
      let offset = 0;
      for (const [i, record] of records.entries()) {
        assert.equal(record.offset, offset);
        offset += 12 + expected[i].length + 4;
      }
      assert.equal(offset, fs.statSync(files.path(name)).size);
    }
  });

  test('an empty file has no records', async () => {
    assert.deepEqual(await readAll(fileWith(dir, 'empty', new Uint8Array())), []);
  });

  test('a changed data byte fails the data checksum of that record', async () => {
    const firstLength = 12 + Buffer.from(files.manifest.records.predict[0], 'base64').length + 4;
    const bytes = Buffer.from(predict);
    bytes[firstLength + 12 + 3] ^= 0x01; // a data byte of record 1
    await assertDataLoss(
      fileWith(dir, 'bad_data_crc', bytes),
      `record 1 at byte offset ${firstLength}`,
      'corrupted data',
    );
  });

  test('a changed length fails the length checksum', async () => {
    const bytes = Buffer.from(predict);
    bytes[0] ^= 0x04;
    await assertDataLoss(fileWith(dir, 'bad_length_crc', bytes), 'record 0 at byte offset 0', 'corrupted length');
  });

  test('a record cut short is truncated, in its data or in its header', async () => {
    await assertDataLoss(
      fileWith(dir, 'cut_data', predict.subarray(0, predict.length - 3)),
      'record 1',
      'truncated record',
    );
    const firstLength = 12 + Buffer.from(files.manifest.records.predict[0], 'base64').length + 4;
    await assertDataLoss(
      fileWith(dir, 'cut_header', predict.subarray(0, firstLength + 5)),
      'record 1',
      'truncated header',
    );
  });

  test('a huge length with a valid checksum is reported truncated, not allocated', async () => {
    const header = Buffer.alloc(12);
    header.writeBigUInt64LE(1n << 40n, 0);
    header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
    await assertDataLoss(
      fileWith(dir, 'huge', Buffer.concat([header, Buffer.alloc(8)])),
      'truncated record (length 1099511627776',
    );
  });
});
