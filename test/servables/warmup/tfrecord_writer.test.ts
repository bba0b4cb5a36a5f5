/**
 * TFRecordWriter against TensorFlow's own: the same records give the same file, byte for byte,
 * as tf.io.TFRecordWriter wrote it (write_warmup_files.py), and the reader reads it back.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { readTFRecords } from '../../../src/servables/warmup/tfrecord_reader';
import { TFRecordWriter } from '../../../src/servables/warmup/tfrecord_writer';
import { tempDir, warmupFiles, type WarmupFiles } from './warmup_files';

describe('TFRecordWriter', () => {
  let files: WarmupFiles;
  let dir: string;

  before(() => {
    files = warmupFiles();
    dir = tempDir('duoserve-tfrecord-writer-');
  });

  test("writes TensorFlow's bytes for the same records", async () => {
    for (const name of ['predict', 'classify', 'too_many'] as const) {
      const records = files.manifest.records[name].map((b64) => Buffer.from(b64, 'base64'));
      const file = path.join(dir, name);
      const writer = await TFRecordWriter.create(file);
      // In two writes, the second past one writev's record limit for 'too_many'.
      await writer.write(records.slice(0, 1));
      await writer.write(records.slice(1));
      await writer.close();
      assert.deepEqual(fs.readFileSync(file), fs.readFileSync(files.path(name)), name);
      assert.equal(writer.recordCount, records.length);
      assert.equal(writer.size, fs.statSync(file).size);
    }
  });

  test('round-trips records of any size, empty ones too, through the reader', async () => {
    const records = [0, 1, 255, 70_000].map((n) => Buffer.alloc(n, n % 251));
    const file = path.join(dir, 'sizes');
    const writer = await TFRecordWriter.create(file);
    await writer.write(records);
    await writer.close();
    const read: Buffer[] = [];
    for await (const record of readTFRecords(file)) read.push(record.data);
    assert.deepEqual(read, records);
  });

  test('never overwrites a file', async () => {
    const file = path.join(dir, 'taken');
    fs.writeFileSync(file, 'x');
    await assert.rejects(TFRecordWriter.create(file), { code: 'EEXIST' });
    assert.equal(fs.readFileSync(file, 'utf8'), 'x');
  });
});
