/**
 * `npm run bench:chain-glue`: the example chain features_topk (raw features standardized in a
 * JavaScript step, features (TensorFlow), ranker (PyTorch), the k best items picked in a
 * JavaScript step: one gRPC Predict) against a client that does the same glue itself around the
 * pure-model chain features_to_ranker (standardize, Predict, decode the scores, top-k), with the
 * very functions the chain ships (its steps.js). p50 and req/s at 1 and 16 calls in flight, the
 * two paths interleaved. Then a function step's own cost per call, in-process: the hop to a
 * worker thread and back with an identity step (its input passed through, or copied into a new
 * output), for a small and a 1 MB tensor.
 *
 *   npm run bench:chain-glue [-- --rows=100 --k=10 --seconds=4 --out=var/bench/chain_glue.json]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FunctionStepDefinition } from '../src/platforms/chain/chain_definition';
import { StepPool, type StepTensor } from '../src/platforms/chain/step_pool';
import { Protos } from '../src/protos';
import { DataType } from '../src/tensors/data_type';
import { startDuoserve } from './duoserve_process';
import { PREDICT_PATH, RawGrpcClient } from './grpc_client';
import { seededValues } from './models';
import { REPO_ROOT } from './options';
import { percentile, round } from './stats';

const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');
const MODELS = { features: 'tensorflow', ranker: 'pytorch', features_to_ranker: 'chain', features_topk: 'chain' };
const RAW = 32;

interface Options {
  rows: number;
  k: number;
  seconds: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const flag = (name: string) => argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
  return {
    rows: Number(flag('rows') ?? 100),
    k: Number(flag('k') ?? 10),
    seconds: Number(flag('seconds') ?? 4),
    out: path.resolve(flag('out') ?? path.join(REPO_ROOT, 'var', 'bench', 'chain_glue.json')),
  };
}

function log(line: string): void {
  console.log(`[bench:chain-glue] ${line}`);
}

type Glue = {
  normalize(inputs: { raw: { shape: number[]; data: Float32Array } }): { x: { shape: number[]; data: Float32Array } };
  topK(inputs: Record<string, { shape: number[]; data: unknown }>): {
    item_ids: { data: BigInt64Array };
    scores: { data: Float32Array };
  };
};

function tensorProto(dtype: number, shape: number[], bytes: ArrayBufferView) {
  return {
    dtype,
    tensor_shape: { dim: shape.map((size) => ({ size })) },
    tensor_content: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
}

function request(model: string, inputs: Record<string, ReturnType<typeof tensorProto>>): Buffer {
  const bytes = Protos.PredictRequest.encode({ model_spec: { name: model }, inputs }).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** An output of a PredictResponse (typed fields) as numbers. */
function outputValues(response: Buffer, alias: string): number[] {
  const decoded = Protos.PredictResponse.toObject(Protos.PredictResponse.decode(response), { longs: Number }) as {
    outputs: Record<string, { float_val?: number[]; int64_val?: number[] }>;
  };
  const output = decoded.outputs[alias];
  return output.float_val ?? output.int64_val ?? [];
}

interface Measured {
  p50Us: number;
  p90Us: number;
  requestsPerSecond: number;
}

/** `concurrency` loops calling `call` for `seconds`; latencies of every call. */
async function load(call: () => Promise<unknown>, concurrency: number, seconds: number): Promise<Measured> {
  const samples: number[] = [];
  const until = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const started = process.hrtime.bigint();
  const loop = async () => {
    while (process.hrtime.bigint() < until) {
      const t = process.hrtime.bigint();
      await call();
      samples.push(Number(process.hrtime.bigint() - t));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  const sorted = Float64Array.from(samples).sort();
  return {
    p50Us: round(percentile(sorted, 0.5) / 1e3),
    p90Us: round(percentile(sorted, 0.9) / 1e3),
    requestsPerSecond: round(samples.length / elapsedS),
  };
}

async function serverComparison(options: Options) {
  const workDir = path.join(REPO_ROOT, 'var', 'bench', 'chain_glue');
  const configFile = path.join(workDir, 'models.config');
  fs.mkdirSync(workDir, { recursive: true });
  const entries = Object.entries(MODELS).map(
    ([name, platform]) =>
      `  config { name: "${name}" base_path: "${path.join(EXAMPLES, name)}" model_platform: "${platform}" }`,
  );
  fs.writeFileSync(configFile, `model_config_list {\n${entries.join('\n')}\n}\n`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const glue = require(path.join(EXAMPLES, 'features_topk', '1', 'steps.js')) as Glue;

  const raw = seededValues(options.rows * RAW).map((value, i) => value * 3 + (i % RAW));
  const itemIds = BigInt64Array.from({ length: options.rows }, (_, i) => BigInt(1_000_000 + i * 7));
  const k = Int32Array.of(options.k);
  const chainRequest = request('features_topk', {
    raw: tensorProto(DataType.DT_FLOAT, [options.rows, RAW], raw),
    item_ids: tensorProto(DataType.DT_INT64, [options.rows], itemIds),
    k: tensorProto(DataType.DT_INT32, [], k),
  });
  log('starting bin/duoserve');
  const server = await startDuoserve(configFile, Object.keys(MODELS), [], 180_000, workDir);
  const client = new RawGrpcClient(server.grpcTarget);
  try {
    const viaChain = async () => outputValues(await client.call(PREDICT_PATH, chainRequest), 'item_ids');
    const viaClient = async () => {
      const { x } = glue.normalize({ raw: { shape: [options.rows, RAW], data: raw } });
      const scored = await client.call(
        PREDICT_PATH,
        request('features_to_ranker', { x: tensorProto(1, x.shape, x.data) }),
      );
      const score = Float32Array.from(outputValues(scored, 'score'));
      const best = glue.topK({
        score: { shape: [options.rows], data: score },
        item_ids: { shape: [options.rows], data: itemIds },
        k: { shape: [], data: k },
      });
      return Array.from(best.item_ids.data, Number);
    };
    const [a, b] = [await viaChain(), await viaClient()];
    if (a.length !== options.k || a.some((id, i) => id !== b[i]))
      throw new Error(`the two paths disagree: ${a} / ${b}`);
    for (let i = 0; i < 50; i++) await Promise.all([viaChain(), viaClient()]);
    const results: Record<string, Record<string, Measured>> = {};
    for (const concurrency of [1, 16]) {
      // Interleaved halves (A, B, A, B), so drift in the machine's load touches both alike.
      const halves = { chain: [] as Measured[], client: [] as Measured[] };
      for (let half = 0; half < 2; half++) {
        halves.chain.push(await load(viaChain, concurrency, options.seconds / 2));
        halves.client.push(await load(viaClient, concurrency, options.seconds / 2));
      }
      const mean = (list: Measured[]): Measured => ({
        p50Us: round((list[0].p50Us + list[1].p50Us) / 2),
        p90Us: round((list[0].p90Us + list[1].p90Us) / 2),
        requestsPerSecond: round((list[0].requestsPerSecond + list[1].requestsPerSecond) / 2),
      });
      results[`c=${concurrency}`] = { chain: mean(halves.chain), client: mean(halves.client) };
    }
    return results;
  } finally {
    client.close();
    await server.stop();
  }
}

/** A function step's call from the JS thread to a worker and back, with an identity function. */
async function hopCost() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-glue-'));
  fs.writeFileSync(
    path.join(dir, 'identity.js'),
    'exports.same = ({ x }) => ({ y: x });\nexports.copy = ({ x }) => ({ y: { shape: x.shape, data: x.data.slice() } });\n',
  );
  const pool = new StepPool(dir, 2);
  const step = (exportName: string, elements: number): FunctionStepDefinition => {
    const spec = (name: string) => ({ name, dtype: DataType.DT_FLOAT, shape: [-1, elements] });
    return {
      kind: 'function',
      name: exportName,
      inputs: new Map(),
      after: [],
      function: {
        exportName,
        module: 'identity.js',
        inputs: new Map([['x', spec('x')]]),
        outputs: new Map([['y', spec('y')]]),
        timeLimitMs: 10_000,
      },
    };
  };
  const results: Record<string, { p50Us: number; callsPerSecond: number }> = {};
  try {
    for (const elements of [32, 256 * 1024]) {
      const tensor: StepTensor = {
        dtype: DataType.DT_FLOAT,
        shape: [1, elements],
        data: seededValues(elements).buffer as ArrayBuffer,
      };
      const inputs = new Map([['x', tensor]]);
      for (const fn of ['same', 'copy']) {
        const definition = step(fn, elements);
        await pool.load(definition);
        const calls = elements > 1024 ? 300 : 3000;
        for (let i = 0; i < calls / 10; i++) await pool.call(definition, inputs, {});
        const samples: number[] = [];
        const started = process.hrtime.bigint();
        for (let i = 0; i < calls; i++) {
          const t = process.hrtime.bigint();
          await pool.call(definition, inputs, {});
          samples.push(Number(process.hrtime.bigint() - t));
        }
        const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
        const sorted = Float64Array.from(samples).sort();
        results[`${fn} ${elements * 4} B`] = {
          p50Us: round(percentile(sorted, 0.5) / 1e3),
          callsPerSecond: round(calls / elapsedS),
        };
      }
    }
  } finally {
    pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const loadAverage = os.loadavg()[0];
  const served = await serverComparison(options);
  const hop = await hopCost();
  console.log(`\nfeatures_topk (${options.rows} items, k=${options.k}) vs client glue around features_to_ranker`);
  console.log(`(1-minute load average ${round(loadAverage)} on ${os.availableParallelism()} CPUs)`);
  for (const [concurrency, paths] of Object.entries(served)) {
    for (const [label, result] of Object.entries(paths)) {
      console.log(
        `${concurrency.padEnd(5)} ${label.padEnd(7)} p50 ${String(result.p50Us).padStart(8)} us  p90 ` +
          `${String(result.p90Us).padStart(8)} us  ${String(result.requestsPerSecond).padStart(8)} req/s`,
      );
    }
  }
  console.log('\nfunction step call (JS thread -> worker -> JS thread), identity step, one at a time');
  for (const [label, result] of Object.entries(hop)) {
    console.log(`${label.padEnd(16)} p50 ${String(result.p50Us).padStart(8)} us  ${result.callsPerSecond} calls/s`);
  }
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, JSON.stringify({ options, loadAverage, served, hop }, null, 2) + '\n');
  log(`wrote ${options.out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
