/**
 * The "tfrecord" LogCollector and ServerRequestLogger on real files: rotation by size and by
 * record count, records dropped (and counted) rather than queued past the buffer, everything
 * written and closed on close(), loggers kept, replaced and closed across config updates, and
 * TF-Serving's errors for a config it cannot serve.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { ServingError } from '../../src/errors/serving_error';
import { metricsRegistry } from '../../src/monitoring/registry';
import { Protos } from '../../src/protos';
import { createLogCollector } from '../../src/request_logging/log_collector';
import type { RequestLoggingConfig } from '../../src/request_logging/request_logger';
import { ServerRequestLogger } from '../../src/request_logging/server_request_logger';
import { type TFRecordLogOptions } from '../../src/request_logging/tfrecord_log_collector';
import { framedLength } from '../../src/servables/warmup/tfrecord_framing';
import { readTFRecords } from '../../src/servables/warmup/tfrecord_reader';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-request-log-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

let prefixes = 0;
/** A fresh prefix in a directory of its own. */
function freshPrefix(): string {
  const dir = fs.mkdtempSync(path.join(root, 'log-'));
  return path.join(dir, `p${++prefixes}`);
}

const lines: string[] = [];
const options = (more: Partial<TFRecordLogOptions> = {}): TFRecordLogOptions => ({
  maxFileBytes: 1 << 20,
  maxFileRecords: 0,
  bufferBytes: 1 << 20,
  log: (severity, message) => lines.push(`${severity} ${message}`),
  ...more,
});

const RECORD_BYTES = 100;
const record = (i: number) => Buffer.alloc(RECORD_BYTES, i);

/** The records of each file of `prefix`, in the order the files were created. */
async function filesOf(prefix: string): Promise<Buffer[][]> {
  const dir = path.dirname(prefix);
  const names = fs
    .readdirSync(dir)
    .filter((name) => name.startsWith(`${path.basename(prefix)}.`))
    .sort((a, b) => Number(a.split('-').pop()) - Number(b.split('-').pop()));
  const files: Buffer[][] = [];
  for (const name of names) {
    const records: Buffer[] = [];
    for await (const read of readTFRecords(path.join(dir, name))) records.push(read.data);
    files.push(records);
  }
  return files;
}

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

const tfrecord = (prefix: string) => ({ type: 'tfrecord', filenamePrefix: prefix });

describe('tfrecord LogCollector', () => {
  test('rotates once a file holds max_file_bytes: each file as many whole records as fit', async () => {
    const prefix = freshPrefix();
    const collector = createLogCollector(tfrecord(prefix), options({ maxFileBytes: 3 * framedLength(RECORD_BYTES) }));
    for (let i = 0; i < 7; i++) assert.equal(collector.collect(record(i)), true);
    await collector.close();
    const files = await filesOf(prefix);
    assert.deepEqual(
      files.map((f) => f.map((r) => r[0])),
      [[0, 1, 2], [3, 4, 5], [6]],
    );
    assert.match(fs.readdirSync(path.dirname(prefix))[0], /^p\d+\.\d+-\d+-\d+$/);
  });

  test('rotates once a file holds max_file_records', async () => {
    const prefix = freshPrefix();
    const collector = createLogCollector(tfrecord(prefix), options({ maxFileRecords: 2 }));
    for (let i = 0; i < 3; i++) collector.collect(record(i));
    await new Promise((resolve) => setTimeout(resolve, 50)); // written in two drains
    for (let i = 3; i < 5; i++) collector.collect(record(i));
    await collector.close();
    assert.deepEqual(
      (await filesOf(prefix)).map((f) => f.map((r) => r[0])),
      [[0, 1], [2, 3], [4]],
    );
  });

  test('a record bigger than max_file_bytes gets a file of its own', async () => {
    const prefix = freshPrefix();
    const collector = createLogCollector(tfrecord(prefix), options({ maxFileBytes: 10 }));
    collector.collect(record(1));
    collector.collect(record(2));
    await collector.close();
    assert.deepEqual(
      (await filesOf(prefix)).map((f) => f.length),
      [1, 1],
    );
  });

  test('drops, and counts, what the buffer cannot hold, without waiting; takes records again once written', async () => {
    const prefix = freshPrefix();
    const collector = createLogCollector(tfrecord(prefix), options({ bufferBytes: 2 * framedLength(RECORD_BYTES) }));
    const labels = { filename_prefix: prefix, reason: 'buffer_full' };
    const taken = Array.from({ length: 5 }, (_, i) => collector.collect(record(i)));
    assert.deepEqual(taken, [true, true, false, false, false]);
    assert.equal(await counter('duoserve_request_log_dropped_records_total', labels), 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(collector.collect(record(5)), true);
    await collector.close();
    assert.deepEqual(
      (await filesOf(prefix)).flat().map((r) => r[0]),
      [0, 1, 5],
    );
    assert.equal(collector.collect(record(6)), false);
    assert.equal(await counter('duoserve_request_log_dropped_records_total', { ...labels, reason: 'closed' }), 1);
  });

  test('counts records the file system refuses, logs it once, and keeps taking records', async () => {
    const prefix = freshPrefix();
    const collector = createLogCollector(tfrecord(prefix), options());
    fs.rmSync(path.dirname(prefix), { recursive: true });
    collector.collect(record(1));
    collector.collect(record(2));
    await new Promise((resolve) => setTimeout(resolve, 50));
    collector.collect(record(3));
    await collector.close();
    const labels = { filename_prefix: prefix, reason: 'write_error' };
    assert.equal(await counter('duoserve_request_log_dropped_records_total', labels), 3);
    assert.equal(lines.filter((line) => line.includes(prefix)).length, 1);
    assert.match(
      lines.find((line) => line.includes(prefix))!,
      /^ERROR Request log .*ENOENT.*; its records are dropped$/,
    );
  });

  test("an unknown type is NOT_FOUND in TF-Serving's words; a prefix whose directory is missing is INVALID_ARGUMENT", () => {
    assert.throws(
      () => createLogCollector({ type: 'file', filenamePrefix: freshPrefix() }, options()),
      (error: unknown) =>
        error instanceof ServingError &&
        error.code === 'NOT_FOUND' &&
        error.message === 'Cannot find LogCollector::Factory for type: file',
    );
    for (const prefix of ['', path.join(root, 'no_such_dir', 'p')]) {
      assert.throws(
        () => createLogCollector(tfrecord(prefix), options()),
        (error: unknown) => error instanceof ServingError && error.code === 'INVALID_ARGUMENT',
      );
    }
  });
});

function loggingConfig(prefix: string, rate: number, type = 'tfrecord'): RequestLoggingConfig {
  const message = { log_collector_config: { type, filename_prefix: prefix }, sampling_config: { sampling_rate: rate } };
  return {
    collector: { type, filenamePrefix: prefix },
    samplingConfig: { sampling_rate: rate },
    key: Buffer.from(Protos.LoggingConfig.encode(Protos.LoggingConfig.fromObject(message)).finish()).toString('base64'),
  };
}

describe('ServerRequestLogger', () => {
  const serverLogger = () => new ServerRequestLogger({ collector: options(), savedModelTags: ['serve'] });
  const logOne = (logger: ServerRequestLogger, model: string) =>
    logger.sampled(model)?.log('predict_log', { name: model, version: 1 }, Buffer.alloc(0), Buffer.alloc(0));

  test('samples at rate 1 always, at rate 0 never, and models without a config not at all', () => {
    const logger = serverLogger();
    void logger.update(
      new Map([
        ['all', loggingConfig(freshPrefix(), 1)],
        ['none', loggingConfig(freshPrefix(), 0)],
      ]),
    );
    for (let i = 0; i < 100; i++) {
      assert.ok(logger.sampled('all'));
      assert.equal(logger.sampled('none'), undefined);
      assert.equal(logger.sampled('other'), undefined);
    }
    return logger.close();
  });

  test('an update keeps unchanged loggers (their file too), closes the ones it drops, and shares equal configs', async () => {
    const logger = serverLogger();
    const [a, b] = [freshPrefix(), freshPrefix()];
    await logger.update(new Map([['m', loggingConfig(a, 1)]]));
    logOne(logger, 'm');
    await logger.update(
      new Map([
        ['m', loggingConfig(a, 1)],
        ['n', loggingConfig(a, 1)],
      ]),
    );
    assert.equal(logger.sampled('m'), logger.sampled('n'));
    logOne(logger, 'n');
    await logger.update(new Map([['m', loggingConfig(b, 1)]]));
    // a's logger is closed once the update resolves: one file, both records.
    assert.deepEqual(
      (await filesOf(a)).map((f) => f.length),
      [2],
    );
    logOne(logger, 'm');
    await logger.update(new Map());
    assert.equal(logger.sampled('m'), undefined);
    assert.deepEqual(
      (await filesOf(b)).map((f) => f.length),
      [1],
    );
    const [decoded] = (await filesOf(b))[0].map((bytes) =>
      Protos.PredictionLog.toObject(Protos.PredictionLog.decode(bytes), { longs: Number }),
    );
    assert.equal(decoded.log_metadata.model_spec.name, 'm');
    assert.equal(decoded.log_metadata.sampling_config.sampling_rate, 1);
    assert.deepEqual(decoded.log_metadata.saved_model_tags, ['serve']);
  });

  test('close() waits for the records still being encoded (a REST call answered just before shutdown)', async () => {
    const logger = serverLogger();
    const a = freshPrefix();
    await logger.update(new Map([['m', loggingConfig(a, 1)]]));
    const slow = () =>
      new Promise<[Uint8Array, Uint8Array]>((resolve) =>
        setTimeout(() => resolve([Buffer.alloc(0), Buffer.alloc(0)]), 50),
      );
    void logger.sampled('m')!.logEncoded('predict_log', { name: 'm' }, slow);
    await logger.close();
    assert.deepEqual(
      (await filesOf(a)).map((f) => f.length),
      [1],
    );
  });

  test('a refused config changes nothing', async () => {
    const logger = serverLogger();
    const a = freshPrefix();
    await logger.update(new Map([['m', loggingConfig(a, 1)]]));
    assert.throws(
      () =>
        logger.prepare(
          new Map([
            ['m', loggingConfig(freshPrefix(), 1)],
            ['n', loggingConfig(freshPrefix(), 1, 'file')],
          ]),
        ),
      /Cannot find LogCollector::Factory for type: file/,
    );
    logOne(logger, 'm');
    await logger.close();
    assert.deepEqual(
      (await filesOf(a)).map((f) => f.length),
      [1],
    );
  });
});
