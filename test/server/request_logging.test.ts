/**
 * logging_config against bin/duoserve: sampled Predicts (rate 1) land in the model's files and
 * unsampled ones (rate 0) nowhere; HandleReloadConfigRequest turns logging on, moves it to a new
 * prefix (closing the old file) and off; SIGTERM closes the last file; an unknown collector
 * type stops the server from starting in TF-Serving's words; --duoserve_log_format=json writes
 * the server's own lines as JSON objects.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Protos } from '../../src/protos';
import { readTFRecords } from '../../src/servables/warmup/tfrecord_reader';
import { EXAMPLE_MODELS, ModelDirs, REPO_ROOT, startDuoserve, waitUntil } from './lifecycle_helpers';

const [tensorflow, pytorch] = EXAMPLE_MODELS;

/** The PredictionLogs in every file of `prefix`, with how many files there are. */
async function logsOf(prefix: string) {
  const dir = path.dirname(prefix);
  const files = fs.readdirSync(dir).filter((name) => name.startsWith(`${path.basename(prefix)}.`));
  const logs = [];
  for (const file of files) {
    for await (const record of readTFRecords(path.join(dir, file))) {
      logs.push(Protos.PredictionLog.toObject(Protos.PredictionLog.decode(record.data), { longs: Number }));
    }
  }
  return { files: files.length, logs };
}

describe('bin/duoserve logging_config', { timeout: 120_000 }, () => {
  const dirs = new ModelDirs();
  after(() => dirs.cleanUp());
  const tfBase = dirs.basePath('tf');
  dirs.addVersion(tfBase, tensorflow, 1);
  const torchBase = dirs.basePath('torch');
  dirs.addVersion(torchBase, pytorch, 1);
  const logDir = path.join(dirs.root, 'logs');
  fs.mkdirSync(logDir);
  const prefix = (name: string) => path.join(logDir, name);

  const model = (name: string, basePath: string, platform: string, logging?: { prefix: string; rate: number }) => ({
    name,
    base_path: basePath,
    model_platform: platform,
    ...(logging && {
      logging_config: {
        log_collector_config: { type: 'tfrecord', filename_prefix: logging.prefix },
        sampling_config: { sampling_rate: logging.rate },
      },
    }),
  });
  const configText = (models: Array<ReturnType<typeof model>>) =>
    `model_config_list {\n${models
      .map(
        (m) =>
          `  config { name: "${m.name}" base_path: "${m.base_path}" model_platform: "${m.model_platform}" ` +
          (m.logging_config
            ? `logging_config { log_collector_config { type: "${m.logging_config.log_collector_config.type}" ` +
              `filename_prefix: "${m.logging_config.log_collector_config.filename_prefix}" } ` +
              `sampling_config { sampling_rate: ${m.logging_config.sampling_config.sampling_rate} } }`
            : '') +
          ' }',
      )
      .join('\n')}\n}\n`;
  const configFile = (models: Array<ReturnType<typeof model>>) => {
    const file = path.join(dirs.root, `models-${Math.random().toString(36).slice(2)}.config`);
    fs.writeFileSync(file, configText(models));
    return file;
  };

  it('logs at rate 1, not at rate 0; reload turns it on, moves it and off; SIGTERM closes the file', async () => {
    const server = await startDuoserve(
      [
        `--model_config_file=${configFile([
          model('tf', tfBase, 'tensorflow', { prefix: prefix('tf'), rate: 1 }),
          model('torch', torchBase, 'pytorch', { prefix: prefix('torch'), rate: 0 }),
        ])}`,
        '--duoserve_log_format=json',
      ],
      'tf',
    );
    try {
      await server.client.predict({ name: 'tf' });
      await server.client.predict({ name: 'tf' });
      for (let i = 0; i < 5; i++) await server.client.predict({ name: 'torch' });
      // Logging on for torch at a new prefix, off for tf: tf's file is closed when the reload answers.
      const reload = (models: Array<ReturnType<typeof model>>) =>
        server.client.reload({ model_config_list: { config: models } });
      await reload([
        model('tf', tfBase, 'tensorflow'),
        model('torch', torchBase, 'pytorch', { prefix: prefix('torch2'), rate: 1 }),
      ]);
      const tf = await logsOf(prefix('tf'));
      assert.equal(tf.files, 1);
      assert.equal(tf.logs.length, 2);
      assert.deepEqual(tf.logs[0].log_metadata.model_spec, {
        name: 'tf',
        version: { value: 1 },
        signature_name: 'serving_default',
      });
      assert.deepEqual(tf.logs[0].predict_log.request.inputs.x.float_val, [1, 2, 5]);
      assert.deepEqual(tf.logs[0].predict_log.response.outputs.y.float_val, [2.5, 3, 4.5]);
      assert.equal((await logsOf(prefix('torch'))).files, 0);
      await server.client.predict({ name: 'tf' });
      await server.client.predict({ name: 'torch' });
      assert.equal((await logsOf(prefix('tf'))).logs.length, 2);
      // Unchanged config: the same logger and file; then off everywhere.
      await reload([
        model('tf', tfBase, 'tensorflow'),
        model('torch', torchBase, 'pytorch', { prefix: prefix('torch2'), rate: 1 }),
      ]);
      await server.client.predict({ name: 'torch' });
      const torch2 = await logsOf(prefix('torch2'));
      assert.equal(torch2.files, 1);
      await reload([
        model('tf', tfBase, 'tensorflow', { prefix: prefix('tf3'), rate: 1 }),
        model('torch', torchBase, 'pytorch'),
      ]);
      assert.deepEqual(await logsOf(prefix('torch2')).then(({ files, logs }) => [files, logs.length]), [1, 2]);
      assert.equal(torch2.logs[0].log_metadata.model_spec.name, 'torch');
      await server.client.predict({ name: 'tf' });
    } finally {
      await server.stop();
    }
    // Written and closed on SIGTERM.
    assert.equal((await logsOf(prefix('tf3'))).logs.length, 1);
    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    const finished = lines
      .map((line) => JSON.parse(line))
      .find((entry) => entry.message === 'Finished reloading config');
    assert.ok(finished, server.output().slice(-2000));
    assert.deepEqual(Object.keys(finished), ['time', 'severity', 'message']);
    assert.equal(finished.severity, 'INFO');
    assert.ok(!Number.isNaN(Date.parse(finished.time)));
  });

  it('a polled --model_config_file turns logging on and off', async () => {
    const file = configFile([model('tf', tfBase, 'tensorflow')]);
    const server = await startDuoserve(
      [`--model_config_file=${file}`, '--model_config_file_poll_wait_seconds=1'],
      'tf',
    );
    try {
      await server.client.predict({ name: 'tf' });
      fs.writeFileSync(file, configText([model('tf', tfBase, 'tensorflow', { prefix: prefix('polled'), rate: 1 })]));
      // Each Predict is logged once the new config is in force; the first logged one shows it is.
      await waitUntil('the polled config logs Predict', async () => {
        await server.client.predict({ name: 'tf' });
        return fs.readdirSync(logDir).some((name) => name.startsWith('polled.'));
      });
      fs.writeFileSync(file, configText([model('tf', tfBase, 'tensorflow')]));
      await waitUntil('the polled config stops logging', async () => {
        // A file still being written may end in half a record: read it again next time.
        const count = () =>
          logsOf(prefix('polled')).then(
            ({ logs }) => logs.length,
            () => -1,
          );
        const before = await count();
        await server.client.predict({ name: 'tf' });
        return before > 0 && (await count()) === before;
      });
      // The writer is asynchronous: make sure nothing more arrives.
      const settled = (await logsOf(prefix('polled'))).logs.length;
      for (let i = 0; i < 3; i++) await server.client.predict({ name: 'tf' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await logsOf(prefix('polled'))).logs.length, settled);
    } finally {
      await server.stop();
    }
    assert.ok(!server.output().includes('ReloadConfig failed'), server.output().slice(-2000));
  });

  it("refuses to start with a collector type it has no factory for, in TF-Serving's words", () => {
    const file = configFile([model('tf', tfBase, 'tensorflow', { prefix: prefix('x'), rate: 1 })]).toString();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('type: "tfrecord"', 'type: "file"'));
    const result = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'duoserve'), '--port=1', `--model_config_file=${file}`],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(result.status, 255);
    assert.equal(
      result.stdout,
      'Failed to start server. Error: NOT_FOUND: Cannot find LogCollector::Factory for type: file\n',
    );
  });
});
