/**
 * --monitoring_config_file against bin/duoserve: TF-Serving's Prometheus page on the REST port,
 * at the configured path (or its default), in text format with # TYPE lines, under
 * TF-Serving's metric names and labels, and counts that move with the traffic.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DuoserveProcess, EXAMPLE_MODELS, freePort, ModelDirs, startDuoserve } from './lifecycle_helpers';

const [tensorflow] = EXAMPLE_MODELS;

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
  after(async () => {
    await server?.stop();
    dirs.cleanUp();
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  const startWith = async (config: string) => {
    const file = path.join(configDir, `monitoring-${Math.random().toString(36).slice(2)}.config`);
    fs.writeFileSync(file, config);
    const restPort = await freePort();
    const started = await startDuoserve(
      [
        '--model_name=half_plus_two',
        `--model_base_path=${base}`,
        `--rest_api_port=${restPort}`,
        `--monitoring_config_file=${file}`,
        '--enable_batching',
      ],
      'half_plus_two',
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
});
