/**
 * Large REST bodies against the real bin/duoserve: a 50 MB :predict body is read, and a
 * response of a million values written, off the event loop, so a small request beside either
 * answers within a second; a body over
 * --duoserve_rest_max_body_bytes is 413 with TF-Serving's {"error": ...} shape; the memory the
 * big body took comes back once it is answered.
 * The body holds NaN, which sends it through the TF-Serving-compatible parser (JSON.parse takes no NaN).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, ModelDirs, modelConfigText, REPO_ROOT, startDuoserve } from '../lifecycle_helpers';

const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');
const WIDTH = 256;
const LIMIT = 52 * 1024 * 1024;

/** {"instances": [[...256 numbers], ...]} of about `megabytes` MB, the first value NaN. */
function predictBody(megabytes: number): { body: Buffer; rows: number } {
  const row = `[${Array.from({ length: WIDTH }, (_, i) => (Math.sin(i) / 7).toFixed(7)).join(', ')}]`;
  const rows = Math.floor((megabytes * 1e6) / (row.length + 2));
  const first = `[NaN${row.slice(row.indexOf(','), -1)}]`;
  const body = `{"instances": [${first}, ${Array(rows - 1)
    .fill(row)
    .join(', ')}]}`;
  return { body: Buffer.from(body), rows };
}

function rssMegabytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024);
}

async function predict(port: number, body: Buffer | string, model = 'ranker') {
  const started = Date.now();
  const response = await fetch(`http://127.0.0.1:${port}/v1/models/${model}:predict`, { method: 'POST', body });
  // TF-Serving writes NaN as NaN, which JSON.parse refuses.
  const text = (await response.text()).replace(/\bNaN\b/g, 'null');
  return { status: response.status, json: JSON.parse(text), ms: Date.now() - started };
}

/**
 * Announces a body of `length` bytes and sends its first bytes only: the answer comes before
 * the rest (a server that closes after a 413 races a client still sending, so the test does not send it).
 */
function oversizedPredict(port: number, length: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/models/ranker:predict',
        headers: { 'content-length': length },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => {
          request.destroy();
          resolve({ status: response.statusCode!, text });
        });
      },
    );
    request.on('error', reject);
    request.write('{"instances": [');
  });
}

const SMALL = JSON.stringify({ instances: [Array(WIDTH).fill(0.5)] });

describe('bin/duoserve with large REST bodies', { timeout: 120_000 }, () => {
  const dirs = new ModelDirs();
  after(() => dirs.cleanUp());

  it('a small request beside a 50 MB body answers within 1 s; over the limit is 413; memory comes back', async () => {
    const restPort = await freePort();
    const configFile = path.join(dirs.root, 'models.config');
    const models = ['ranker', 'half_plus_two'].map((name) => ({
      name,
      base_path: path.join(EXAMPLES, name),
      model_platform: name === 'ranker' ? 'pytorch' : 'tensorflow',
    }));
    dirs.writeFile(configFile, modelConfigText(models));
    const server = await startDuoserve(
      [`--model_config_file=${configFile}`, `--rest_api_port=${restPort}`, `--duoserve_rest_max_body_bytes=${LIMIT}`],
      'ranker',
    );
    try {
      const pid = server.process.pid!;
      assert.equal((await predict(restPort, SMALL)).status, 200);
      const rssBefore = rssMegabytes(pid);
      const big = predictBody(50);
      assert.ok(big.body.length < LIMIT);

      const bigAnswer = predict(restPort, big.body);
      await new Promise((resolve) => setTimeout(resolve, 400)); // the body is in, being read
      const small = await predict(restPort, SMALL);
      assert.equal(small.status, 200);
      const answered = await bigAnswer;
      assert.equal(answered.status, 200, JSON.stringify(answered.json).slice(0, 300));
      assert.equal(answered.json.predictions.length, big.rows);
      const rssPeak = rssMegabytes(pid);
      console.log(
        `# 50 MB body (${big.rows} rows): ${answered.ms} ms; small request beside it: ${small.ms} ms; ` +
          `RSS ${rssBefore} MB before, ${rssPeak} MB once answered`,
      );
      assert.ok(small.ms < 1000, `the small request took ${small.ms} ms beside the big one (${answered.ms} ms)`);

      const refused = await oversizedPredict(restPort, LIMIT + 1);
      assert.equal(refused.status, 413);
      assert.deepEqual(JSON.parse(refused.text), {
        error:
          `Request body is larger than this server's limit of ${LIMIT} bytes (--duoserve_rest_max_body_bytes); ` +
          'send large tensors over gRPC',
      });
      assert.equal((await predict(restPort, SMALL)).status, 200);

      // A million values out (half_plus_two answers as many as it gets): written off the event loop too.
      const values = 1_000_000;
      const manyOut = predict(
        restPort,
        JSON.stringify({ instances: Array.from({ length: values }, (_, i) => i % 97) }),
        'half_plus_two',
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const besideOutput = await predict(restPort, SMALL);
      const wrote = await manyOut;
      assert.equal(wrote.status, 200);
      assert.equal(wrote.json.predictions.length, values);
      assert.equal(wrote.json.predictions[3], 3.5);
      console.log(`# ${values} values out: ${wrote.ms} ms; small request beside it: ${besideOutput.ms} ms`);
      assert.ok(besideOutput.ms < 1000, `the small request took ${besideOutput.ms} ms beside a large response`);

      // The worker thread that read the body exits once idle, taking its heap along.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const rssAfter = rssMegabytes(pid);
      console.log(`# RSS 6 s later: ${rssAfter} MB`);
      assert.ok(rssAfter < rssBefore + 150, `RSS ${rssBefore} MB before, ${rssAfter} MB after`);
    } finally {
      await server.stop();
    }
  });
});
