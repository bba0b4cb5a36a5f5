/**
 * --monitoring_config_file against bin/duoserve: TF-Serving's Prometheus page on the REST port,
 * at the configured path (or its default), in text format with # TYPE lines, under
 * TF-Serving's metric names and labels, and counts that move with the traffic.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type DuoserveProcess,
  EXAMPLE_MODELS,
  freePort,
  ModelDirs,
  modelConfigText,
  REPO_ROOT,
  serverConfigMessage,
  startDuoserve,
  waitUntil,
} from './lifecycle_helpers';

const [tensorflow, pytorch] = EXAMPLE_MODELS;

async function scrape(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

/** The sample lines of `name` (its series: name{labels} value), keyed by "name{labels}". */
function samples(page: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of page.split('\n')) {
    if (!line.startsWith(name)) continue;
    const at = line.lastIndexOf(' ');
    found.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return found;
}

describe('bin/duoserve --monitoring_config_file', { timeout: 120_000 }, () => {
  const dirs = new ModelDirs();
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-monitoring-'));
  let server: DuoserveProcess;
  let rest: string;
  const base = dirs.basePath('half_plus_two');
  dirs.addVersion(base, tensorflow, 1);
  const torchBase = dirs.basePath('torch');
  dirs.addVersion(torchBase, pytorch, 1);
  const brokenBase = dirs.basePath('broken');
  dirs.addCorruptVersion(brokenBase, tensorflow, 1);
  after(async () => {
    await server?.stop();
    dirs.cleanUp();
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  const startWith = async (
    config: string,
    models = ['--model_name=half_plus_two', `--model_base_path=${base}`],
    readyModel = 'half_plus_two',
  ) => {
    const file = path.join(configDir, `monitoring-${Math.random().toString(36).slice(2)}.config`);
    fs.writeFileSync(file, config);
    const restPort = await freePort();
    const started = await startDuoserve(
      [...models, `--rest_api_port=${restPort}`, `--monitoring_config_file=${file}`, '--enable_batching'],
      readyModel,
    );
    return { started, rest: `http://127.0.0.1:${restPort}` };
  };

  before(async () => {
    ({ started: server, rest } = await startWith('prometheus_config { enable: true }\n'));
  });

  it('serves the page at the default path, text/plain, with # TYPE lines, on GET, POST and HEAD', async () => {
    await server.client.predict({ name: 'half_plus_two' });
    const page = await scrape(`${rest}/monitoring/prometheus/metrics`);
    assert.equal(page.status, 200);
    assert.equal(page.type, 'text/plain');
    assert.match(page.body, /^# TYPE :tensorflow:serving:batching_session:queuing_latency histogram$/m);
    assert.match(page.body, /^# TYPE :tensorflow:serving:batching_session:wrapped_run_count counter$/m);
    const runs = samples(page.body, ':tensorflow:serving:batching_session:wrapped_run_count');
    assert.ok([...runs.values()][0] >= 1, page.body);
    // TF-Serving's handler takes any method and ignores the body.
    const posted = await scrape(`${rest}/monitoring/prometheus/metrics?x=1`, { method: 'POST', body: '{{' });
    assert.equal(posted.status, 200);
    assert.match(posted.body, /^# TYPE :tensorflow:serving:batching_session:wrapped_run_count counter$/m);
    assert.equal((await fetch(`${rest}/monitoring/prometheus/metrics`, { method: 'HEAD' })).status, 200);
    // Only that exact path.
    assert.equal((await scrape(`${rest}/monitoring/prometheus/metrics/x`)).status, 404);
  });

  it("counts gRPC and REST requests under TF-Serving's request_count and request_latency", async () => {
    const page = async () => (await scrape(`${rest}/monitoring/prometheus/metrics`)).body;
    const count = (body: string, labels: string) =>
      samples(body, ':tensorflow:serving:request_count').get(`:tensorflow:serving:request_count{${labels}}`) ?? 0;
    const latencyCount = (body: string, labels: string) =>
      samples(body, ':tensorflow:serving:request_latency_count').get(
        `:tensorflow:serving:request_latency_count{${labels}}`,
      ) ?? 0;
    const grpcOk = 'model_name="half_plus_two",API="Predict",entrypoint="GRPC"';
    const restOk = 'model_name="half_plus_two",API="predict",entrypoint="REST"';
    const before = await page();

    assert.deepEqual((await server.client.predict({ name: 'half_plus_two' })).y, [2.5, 3, 4.5]);
    await assert.rejects(server.client.predict({ name: 'no_such_model' }));
    const predicted = await fetch(`${rest}/v1/models/half_plus_two:predict`, {
      method: 'POST',
      body: '{"instances": [1.0, 2.0, 5.0]}',
    });
    assert.equal(predicted.status, 200);
    const bad = await fetch(`${rest}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances": ' });
    assert.equal(bad.status, 400);
    assert.equal((await fetch(`${rest}/v1/models/half_plus_two`)).status, 200);

    const after = await page();
    assert.match(after, /^# TYPE :tensorflow:serving:request_count counter$/m);
    assert.match(after, /^# TYPE :tensorflow:serving:request_latency histogram$/m);
    assert.match(after, /^# TYPE :tensorflow:serving:request_example_counts histogram$/m);
    assert.match(after, /^# TYPE :tensorflow:serving:request_example_count_total counter$/m);
    // gRPC Predict (1 OK), REST predict (1 OK, 1 bad body), REST status GET (1 OK).
    assert.equal(
      count(after, 'model_name="half_plus_two",status="OK"') - count(before, 'model_name="half_plus_two",status="OK"'),
      3,
    );
    assert.equal(
      count(after, 'model_name="half_plus_two",status="INVALID_ARGUMENT"') -
        count(before, 'model_name="half_plus_two",status="INVALID_ARGUMENT"'),
      1,
    );
    assert.equal(count(after, 'model_name="no_such_model",status="NOT_FOUND"'), 1);
    assert.equal(latencyCount(after, grpcOk) - latencyCount(before, grpcOk), 1);
    assert.equal(latencyCount(after, restOk) - latencyCount(before, restOk), 1);
    // Only successful requests have a latency; buckets are TF-Serving's (10 µs, x1.8).
    assert.equal(latencyCount(after, 'model_name="no_such_model",API="Predict",entrypoint="GRPC"'), 0);
    assert.match(
      after,
      /^:tensorflow:serving:request_latency_bucket\{le="10",model_name="half_plus_two",API="Predict",entrypoint="GRPC"\} \d+$/m,
    );
    assert.match(
      after,
      /^:tensorflow:serving:request_latency_bucket\{le="18",model_name="half_plus_two",API="Predict",entrypoint="GRPC"\} \d+$/m,
    );
  });

  it('a configured path replaces the default; enable: false serves no page', async () => {
    const custom = await startWith('prometheus_config { enable: true path: "/metrics" }\n');
    try {
      assert.equal((await scrape(`${custom.rest}/metrics`)).status, 200);
      assert.equal((await scrape(`${custom.rest}/monitoring/prometheus/metrics`)).status, 404);
    } finally {
      await custom.started.stop();
    }
    const disabled = await startWith('prometheus_config { enable: false path: "/metrics" }\n');
    try {
      assert.equal((await scrape(`${disabled.rest}/metrics`)).status, 404);
      assert.equal((await scrape(`${disabled.rest}/monitoring/prometheus/metrics`)).status, 404);
    } finally {
      await disabled.started.stop();
    }
  });

  it("records every platform's loads under TensorFlow's load_attempt_count and load_latency", async () => {
    const good = [
      { name: 'half_plus_two', base_path: base, model_platform: 'tensorflow' },
      { name: 'torch', base_path: torchBase, model_platform: 'pytorch' },
    ];
    const modelsFile = path.join(configDir, 'models.config');
    fs.writeFileSync(modelsFile, modelConfigText(good));
    const loads = await startWith(
      'prometheus_config { enable: true }\n',
      [`--model_config_file=${modelsFile}`, '--max_num_load_retries=0'],
      'torch',
    );
    // A version that fails to load at start-up stops the server (as TF-Serving): add it by reload.
    await loads.started.client
      .reload(serverConfigMessage([...good, { name: 'broken', base_path: brokenBase, model_platform: 'tensorflow' }]))
      .catch(() => undefined);
    const url = `${loads.rest}/monitoring/prometheus/metrics`;
    const attempts = (body: string, dir: string, status: string) =>
      samples(body, ':tensorflow:cc:saved_model:load_attempt_count').get(
        `:tensorflow:cc:saved_model:load_attempt_count{model_path="${dir}",status="${status}"}`,
      );
    try {
      await waitUntil('the broken version has failed', async () => {
        const { body } = await scrape(url);
        return attempts(body, path.join(brokenBase, '1'), 'fail') === 1;
      });
      const { body } = await scrape(url);
      assert.match(body, /^# TYPE :tensorflow:cc:saved_model:load_attempt_count counter$/m);
      assert.match(body, /^# TYPE :tensorflow:cc:saved_model:load_latency counter$/m);
      for (const dir of [path.join(base, '1'), path.join(torchBase, '1')]) {
        assert.equal(attempts(body, dir, 'success'), 1, dir);
        assert.equal(attempts(body, dir, 'fail'), undefined, dir);
        const latency = samples(body, ':tensorflow:cc:saved_model:load_latency').get(
          `:tensorflow:cc:saved_model:load_latency{model_path="${dir}"}`,
        );
        assert.ok(latency !== undefined && latency > 0, `${dir}: ${latency}`);
      }
    } finally {
      await loads.started.stop();
    }
  });

  it("a file that does not parse or cannot be read stops start-up, in TF-Serving's words", async () => {
    const bad = path.join(configDir, 'bad.config');
    fs.writeFileSync(bad, 'prometheus_config { enable: yes_please }\n');
    const missing = path.join(configDir, 'missing.config');
    const restPort = await freePort();
    const expected = [
      [
        bad,
        `INVALID_ARGUMENT: Invalid protobuf file: '${bad}': Error parsing text-format ` +
          "tensorflow.serving.MonitoringConfig: 1:29: invalid value for bool field 'enable': 'yes_please'",
      ],
      [missing, `NOT_FOUND: ${missing}; No such file or directory`],
    ];
    for (const [file, error] of expected) {
      const result = spawnSync(
        process.execPath,
        [
          path.join(REPO_ROOT, 'bin', 'duoserve'),
          `--port=${await freePort()}`,
          `--rest_api_port=${restPort}`,
          '--model_name=half_plus_two',
          `--model_base_path=${base}`,
          `--monitoring_config_file=${file}`,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(result.status, 255, result.stdout);
      assert.ok(result.stdout.includes(`Failed to start server. Error: ${error}\n`), result.stdout);
    }
    // As in TF-Serving, the file is read only for a REST server: without one it is never opened.
    const grpcOnly = await startDuoserve(
      ['--model_name=half_plus_two', `--model_base_path=${base}`, `--monitoring_config_file=${missing}`],
      'half_plus_two',
    );
    await grpcOnly.stop();
  });
});
