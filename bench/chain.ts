/**
 * `npm run bench:chain`: features (TensorFlow) -> ranker (PyTorch), run by bin/duoserve as
 * the chain features_to_ranker (one gRPC Predict; the [rows, 256] features pass from one
 * framework to the other inside the server), against a client calling the two models in turn
 * over gRPC and, in between, decoding the features from the first PredictResponse and encoding
 * them into the second PredictRequest (tensor_content), as tf.make_ndarray/make_tensor_proto
 * clients do. For a small (1 row: 1 KiB of features) and a ~1 MB (1024 rows) intermediate:
 * p50 latency of each (calls interleaved, one at a time), their ratio (target: chain <= 0.6x
 * client-chained at 1 MB), bytes on the wire, and tensor bytes copied by the addons (copyStats,
 * counted in-process for one request, see chain_copies.ts). A third path is the same client
 * asking for tensor_content answers (x-duoserve-output-encoding), the cheapest a client can do.
 *
 *   npm run bench:chain [-- --iterations=200 --warmup=20 --out=var/bench/chain.json]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Protos } from '../src/protos';
import { DataType } from '../src/tensors/data_type';
import { loadInProcessChain, type CopyCount } from './chain_copies';
import { startDuoserve } from './duoserve_process';
import { PREDICT_PATH, RawGrpcClient } from './grpc_client';
import { seededValues } from './models';
import { REPO_ROOT } from './options';
import { predictResponseOutput } from './payloads';
import { percentile, round } from './stats';

const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');
const MODELS = { features: 'tensorflow', ranker: 'pytorch', features_to_ranker: 'chain' } as const;
const RAW = 32;
const FEATURES = 256;
const CASES = [
  { name: 'small', rows: 1 },
  { name: '1 MB', rows: 1024 },
];

interface Options {
  iterations: number;
  warmup: number;
  out: string;
  serverTimeoutMs: number;
}

function parseArgs(argv: string[]): Options {
  const flag = (name: string) => argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
  return {
    iterations: Number(flag('iterations') ?? 200),
    warmup: Number(flag('warmup') ?? 20),
    out: path.resolve(flag('out') ?? path.join(REPO_ROOT, 'var', 'bench', 'chain.json')),
    serverTimeoutMs: Number(flag('server-timeout') ?? 180) * 1000,
  };
}

function log(line: string): void {
  console.log(`[bench:chain] ${line}`);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A float TensorProto with tensor_content, as tf.make_tensor_proto packs a numpy array. */
function tensorContent(values: Float32Array, shape: number[]) {
  return {
    dtype: DataType.DT_FLOAT,
    tensor_shape: { dim: shape.map((size) => ({ size })) },
    tensor_content: Buffer.from(values.buffer, values.byteOffset, values.byteLength),
  };
}

function predictRequest(model: string, alias: string, values: Float32Array, shape: number[]): Buffer {
  return toBuffer(
    Protos.PredictRequest.encode({
      model_spec: { name: model, signature_name: 'serving_default' },
      inputs: { [alias]: tensorContent(values, shape) },
    }).finish(),
  );
}

function writeModelConfig(file: string): void {
  const entries = Object.entries(MODELS).map(
    ([name, platform]) =>
      `  config { name: "${name}" base_path: "${path.join(EXAMPLES, name)}" model_platform: "${platform}" }`,
  );
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `model_config_list {\n${entries.join('\n')}\n}\n`);
}

interface PathResult {
  p50Us: number;
  p90Us: number;
  meanUs: number;
  wireBytes: number;
  copied: CopyCount;
}

interface CaseResult {
  name: string;
  rows: number;
  intermediateBytes: number;
  chain: PathResult;
  clientChained: PathResult;
  /** The client path with tensor_content answers (copies as clientChained's). */
  clientChainedContent: PathResult;
  p50Ratio: number;
  p50RatioVsContent: number;
}

/** Predict with the opt-in tensor_content answers; raw bytes both ways. */
function contentPredict(client: grpc.Client, request: Buffer): Promise<Buffer> {
  const metadata = new grpc.Metadata();
  metadata.set('x-duoserve-output-encoding', 'tensor_content');
  const identity = (buffer: Buffer) => buffer;
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(PREDICT_PATH, identity, identity, request, metadata, (error, response) =>
      error ? reject(error) : resolve(response!),
    ),
  );
}

function summary(samplesNs: number[], wireBytes: number, copied: CopyCount): PathResult {
  const sorted = Float64Array.from(samplesNs).sort();
  return {
    p50Us: round(percentile(sorted, 0.5) / 1e3),
    p90Us: round(percentile(sorted, 0.9) / 1e3),
    meanUs: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length / 1e3),
    wireBytes,
    copied,
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const workDir = path.join(REPO_ROOT, 'var', 'bench', 'chain');
  const configFile = path.join(workDir, 'models.config');
  writeModelConfig(configFile);
  const inProcess = await loadInProcessChain({
    features: path.join(EXAMPLES, 'features', '1'),
    ranker: path.join(EXAMPLES, 'ranker', '1'),
    chain: path.join(EXAMPLES, 'features_to_ranker', '1'),
  });
  log('starting bin/duoserve');
  const server = await startDuoserve(configFile, Object.keys(MODELS), [], options.serverTimeoutMs, workDir);
  const client = new RawGrpcClient(server.grpcTarget);
  const contentClient = new grpc.Client(server.grpcTarget, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
  const results: CaseResult[] = [];
  try {
    for (const { name, rows } of CASES) {
      const x = seededValues(rows * RAW);
      const chainRequest = predictRequest('features_to_ranker', 'x', x, [rows, RAW]);
      const featuresRequest = predictRequest('features', 'x', x, [rows, RAW]);
      let wire = { chain: 0, client: 0, content: 0 };

      const viaChain = async () => {
        const response = await client.call(PREDICT_PATH, chainRequest);
        wire.chain = chainRequest.length + response.length;
        return predictResponseOutput(response, 'score');
      };
      const viaClient = async () => {
        const first = await client.call(PREDICT_PATH, featuresRequest);
        const features = predictResponseOutput(first, 'features');
        const rankerRequest = predictRequest('ranker', 'features', features.values, features.shape);
        const second = await client.call(PREDICT_PATH, rankerRequest);
        wire.client = featuresRequest.length + first.length + rankerRequest.length + second.length;
        return predictResponseOutput(second, 'score');
      };
      const viaClientContent = async () => {
        const first = await contentPredict(contentClient, featuresRequest);
        const features = predictResponseOutput(first, 'features');
        const rankerRequest = predictRequest('ranker', 'features', features.values, features.shape);
        const second = await contentPredict(contentClient, rankerRequest);
        wire.content = featuresRequest.length + first.length + rankerRequest.length + second.length;
        return predictResponseOutput(second, 'score');
      };

      const [a, b, c] = [await viaChain(), await viaClient(), await viaClientContent()];
      const same = (x: Float32Array, y: Float32Array) => x.length === y.length && x.every((value, i) => value === y[i]);
      if (a.values.length !== rows || !same(a.values, b.values) || !same(a.values, c.values)) {
        throw new Error(`${name}: the chain and the client-chained calls disagree`);
      }
      const paths = [viaChain, viaClient, viaClientContent];
      for (let i = 0; i < options.warmup; i++) for (const call of paths) await call();
      const samples: number[][] = paths.map(() => []);
      const timed = async (call: () => Promise<unknown>, samples: number[]) => {
        const started = process.hrtime.bigint();
        await call();
        samples.push(Number(process.hrtime.bigint() - started));
      };
      for (let i = 0; i < options.iterations; i++) {
        // Interleaved, rotating which goes first, so drift affects every path alike.
        for (let j = 0; j < paths.length; j++) {
          const k = (i + j) % paths.length;
          await timed(paths[k], samples[k]);
        }
      }
      const copies = await inProcess.count(
        toBuffer(Protos.TensorProto.encode(tensorContent(x, [rows, RAW])).finish()),
        (values, shape) => toBuffer(Protos.TensorProto.encode(tensorContent(values, shape)).finish()),
      );
      const chain = summary(samples[0], wire.chain, copies.chain);
      const clientChained = summary(samples[1], wire.client, copies.clientChained);
      const clientChainedContent = summary(samples[2], wire.content, copies.clientChained);
      results.push({
        name,
        rows,
        intermediateBytes: rows * FEATURES * 4,
        chain,
        clientChained,
        clientChainedContent,
        p50Ratio: round(chain.p50Us / clientChained.p50Us),
        p50RatioVsContent: round(chain.p50Us / clientChainedContent.p50Us),
      });
      wire = { chain: 0, client: 0, content: 0 };
    }
  } finally {
    client.close();
    contentClient.close();
    await server.stop();
    inProcess.unload();
  }

  console.log('\nfeatures (TensorFlow) -> ranker (PyTorch) over gRPC, one call at a time (latencies in us)');
  const row = (cells: Array<string | number>) =>
    console.log(cells.map((cell, i) => String(cell).padStart(i === 0 ? 8 : 15)).join(' '));
  row(['case', 'path', 'p50', 'p90', 'ratio of p50', 'wire bytes', 'copied bytes', 'copies']);
  for (const r of results) {
    const paths: Array<[string, PathResult, number | string]> = [
      ['chain', r.chain, ''],
      ['client', r.clientChained, r.p50Ratio],
      ['client+content', r.clientChainedContent, r.p50RatioVsContent],
    ];
    for (const [label, result, ratio] of paths) {
      row([
        r.name,
        label,
        result.p50Us,
        result.p90Us,
        ratio,
        result.wireBytes,
        result.copied.bytes,
        result.copied.copies,
      ]);
    }
  }
  const large = results.find((r) => r.rows === 1024)!;
  console.log(
    `\ntarget: chain p50 <= 0.6x client-chained at 1 MB: ${large.p50Ratio} -> ${large.p50Ratio <= 0.6 ? 'met' : 'NOT met'}`,
  );
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, JSON.stringify({ iterations: options.iterations, results }, null, 2) + '\n');
  log(`wrote ${options.out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
