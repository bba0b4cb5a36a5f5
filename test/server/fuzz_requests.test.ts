/**
 * A bounded, seeded fuzz of bad input against a real bin/duoserve serving the example models
 * (TensorFlow, TorchScript, AOTInductor, a chain across both): mutated gRPC PredictRequests
 * (bit flips, truncation, corrupted length fields, huge and negative dims, wrong dtype enums)
 * sent as raw bytes, and malformed REST bodies and paths. Every reply must be a proper status
 * (no UNKNOWN from a crash, no dropped connection; REST a 4xx/5xx with {"error": ...}), the
 * server must answer a valid request afterwards, and its RSS must stay bounded.
 *
 * DUOSERVE_FUZZ_SEED=<n> replays a run (the seed is printed, and named in every failure).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { MAX_STATUS_MESSAGE_BYTES } from '../../src/errors/status_message';
import { Protos } from '../../src/protos';
import {
  type DuoserveProcess,
  freePort,
  ModelDirs,
  modelConfigText,
  REPO_ROOT,
  startDuoserve,
  waitForStates,
} from './lifecycle_helpers';
import { prng, type Random } from '../seeded_random';

const SEED = Number(process.env.DUOSERVE_FUZZ_SEED ?? 20261201);
const GRPC_REQUESTS = 4_000;
const REST_REQUESTS = 2_000;
/** Requests in flight at once on each API: enough to keep libuv's workers and both frameworks busy. */
const IN_FLIGHT = 16;
/**
 * The RSS growth allowed over the whole run, after a warm-up. Every request here is refused or
 * runs on a tensor of at most 2 KB, and the decoder refuses tensors over 2 GiB before
 * allocating them. What a run may keep is allocator and heap slack: glibc arenas for the
 * concurrent workers, V8's heap growing; measured at +38 to +51 MiB over these 6,000 requests on
 * the 2-core machine, and +61 MiB over four times as many (slack, not a per-request leak).
 * 128 MiB leaves room for that noise; a leak of ~20 KB a request, or one runaway allocation,
 * exceeds it.
 */
const RSS_GROWTH_LIMIT_MIB = 128;

const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');
const MODELS = [
  { name: 'half_plus_two', platform: 'tensorflow' },
  { name: 'half_plus_two_torch', platform: 'pytorch' },
  { name: 'half_plus_two_pt2', platform: 'pytorch' },
  { name: 'mlp_tf', platform: 'tensorflow' },
  { name: 'features', platform: 'tensorflow' },
  { name: 'ranker', platform: 'pytorch' },
  { name: 'features_to_ranker', platform: 'chain' },
];
/** The valid request each mutation starts from: model, input alias, shape. */
const TARGETS = [
  { model: 'half_plus_two', input: 'x', shape: [3] },
  { model: 'half_plus_two_torch', input: 'x', shape: [3] },
  { model: 'half_plus_two_pt2', input: 'x', shape: [3] },
  { model: 'mlp_tf', input: 'x', shape: [1, 512] },
  { model: 'features_to_ranker', input: 'x', shape: [2, 32] },
];

/** Statuses a bad request may get; UNKNOWN, UNAVAILABLE, CANCELLED... would mean a fault. */
const PROPER_GRPC = new Set([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.INTERNAL, // unparseable request bytes, as a C++ gRPC server answers them
  grpc.status.UNIMPLEMENTED,
  grpc.status.OUT_OF_RANGE,
]);

function floats(count: number): number[] {
  return Array.from({ length: count }, (_, i) => (i % 7) * 0.25);
}

function tensorProto(dtype: number, shape: number[], extra: object): object {
  return { dtype, tensor_shape: { dim: shape.map((size) => ({ size })) }, ...extra };
}

function predictBytes(model: string, inputs: Record<string, object>, signature?: string): Buffer {
  const message = Protos.PredictRequest.fromObject({ model_spec: { name: model, signature_name: signature }, inputs });
  return Buffer.from(Protos.PredictRequest.encode(message).finish());
}

function validRequest(target: (typeof TARGETS)[number]): Buffer {
  const count = target.shape.reduce((a, b) => a * b, 1);
  return predictBytes(target.model, { [target.input]: tensorProto(1, target.shape, { float_val: floats(count) }) });
}

/** Offsets of every length field in `bytes`, read as a protobuf message and, where they parse, its sub-messages. */
function lengthFields(bytes: Buffer, base = 0, depth = 0, found: Array<{ at: number; size: number }> = []) {
  let at = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (at >= bytes.length) return undefined;
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return undefined;
  };
  while (at < bytes.length) {
    const key = varint();
    if (key === undefined) return found;
    const wire = key & 7;
    if (wire === 0 && varint() === undefined) return found;
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const lengthAt = at;
      const length = varint();
      if (length === undefined || at + length > bytes.length) return found;
      found.push({ at: base + lengthAt, size: at - lengthAt });
      if (depth < 6) lengthFields(bytes.subarray(at, at + length), base + at, depth + 1, found);
      at += length;
    } else if (wire !== 0) return found;
  }
  return found;
}

function encodeVarint(value: bigint): Buffer {
  const out: number[] = [];
  let rest = BigInt.asUintN(64, value);
  do {
    const byte = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest ? byte | 0x80 : byte);
  } while (rest);
  return Buffer.from(out);
}

const HUGE_DIMS = [-1, -2, -(2 ** 31), 2 ** 31, 2 ** 40, 2 ** 62, 2 ** 53 + 1, 10_000_000_000];
const DTYPES = [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 17, 18, 19, 20, 21, 22, 23, 24, 99, 101, 2 ** 31 - 1];

/** One mutated PredictRequest, and what kind of mutation it is (for the figures). */
function mutatedGrpcRequest(random: Random): { kind: string; bytes: Buffer } {
  const target = random.pick(TARGETS);
  const kind = random.pick([
    'bit_flips',
    'truncation',
    'length_field',
    'huge_dims',
    'dtype',
    'dims_count',
    'typed_fields',
  ]);
  const count = target.shape.reduce((a, b) => a * b, 1);
  switch (kind) {
    case 'bit_flips': {
      const bytes = Buffer.from(validRequest(target));
      for (let flips = 1 + random.int(8); flips > 0; flips--) bytes[random.int(bytes.length)] ^= 1 << random.int(8);
      return { kind, bytes };
    }
    case 'truncation': {
      const bytes = validRequest(target);
      return { kind, bytes: bytes.subarray(0, random.int(bytes.length)) };
    }
    case 'length_field': {
      const bytes = validRequest(target);
      const { at, size } = random.pick(lengthFields(bytes));
      const lengths = [0n, 1n, 127n, 2n ** 31n - 1n, 2n ** 32n, 2n ** 63n, -1n, BigInt(random.int(bytes.length * 2))];
      const value = random.pick(lengths);
      return { kind, bytes: Buffer.concat([bytes.subarray(0, at), encodeVarint(value), bytes.subarray(at + size)]) };
    }
    case 'huge_dims': {
      const shape = target.shape.map((size) => (random.next() < 0.6 ? random.pick(HUGE_DIMS) : size));
      if (shape.every((size, i) => size === target.shape[i])) shape[0] = random.pick(HUGE_DIMS);
      const values = random.next() < 0.5 ? { float_val: [1] } : { tensor_content: Buffer.alloc(random.int(64)) };
      return { kind, bytes: predictBytes(target.model, { [target.input]: tensorProto(1, shape, values) }) };
    }
    case 'dtype': {
      const dtype = random.pick(DTYPES);
      const values = random.pick([
        { float_val: floats(count) },
        { tensor_content: Buffer.alloc(count * random.pick([1, 2, 4, 8, 3])) },
        { string_val: [Buffer.from('x')] },
        { int64_val: [1, 2, 3] },
        {},
      ]);
      return { kind, bytes: predictBytes(target.model, { [target.input]: tensorProto(dtype, target.shape, values) }) };
    }
    case 'dims_count': {
      const rank = random.pick([0, 1, 2, 5, 254, 255, 1000, 10_000]);
      const shape = Array.from({ length: rank }, () => 1);
      return { kind, bytes: predictBytes(target.model, { [target.input]: tensorProto(1, shape, { float_val: [1] }) }) };
    }
    default: {
      // Right shape, wrong inputs: unknown aliases, extra inputs, an unknown signature, empty names.
      const alias = random.pick([target.input, 'nope', '', 'x'.repeat(5000)]);
      const inputs: Record<string, object> = { [alias]: tensorProto(1, target.shape, { float_val: floats(count) }) };
      if (random.next() < 0.3) inputs.extra = tensorProto(1, [1], { float_val: [1] });
      const model = random.next() < 0.2 ? random.pick(['', 'no_such_model', 'm'.repeat(3000)]) : target.model;
      const signature = random.next() < 0.2 ? random.pick(['nope', 'serving_default', '']) : undefined;
      return { kind, bytes: predictBytes(model, inputs, signature) };
    }
  }
}

const REST_MODELS = [
  'half_plus_two',
  'half_plus_two_torch',
  'half_plus_two_pt2',
  'mlp_tf',
  'features_to_ranker',
  'nope',
];
const VALID_BODIES = [
  '{"instances": [1.0, 2.0, 5.0]}',
  '{"inputs": {"x": [1.0, 2.0]}}',
  `{"instances": [[${floats(32).join(',')}]]}`,
  '{"signature_name": "serving_default", "inputs": [1.5]}',
];
const JUNK = [
  ...'{}[],:"\\',
  ...['NaN', '-Infinity', '1e999', '9223372036854775808', 'null', 'true', '\\u', '\u00ff', '\ud800', '\u0000'],
];

/** One malformed REST request: method, path, body (a string or raw bytes). */
function malformedRestRequest(random: Random): { kind: string; method: string; path: string; body?: string | Buffer } {
  const model = random.pick(REST_MODELS);
  const kind = random.pick([
    'body_mutation',
    'body_truncation',
    'body_junk',
    'deep_nesting',
    'raw_bytes',
    'path',
    'types',
  ]);
  const predict = `/v1/models/${model}:predict`;
  const base = random.pick(VALID_BODIES);
  switch (kind) {
    case 'body_mutation': {
      const chars = [...base];
      for (let edits = 1 + random.int(4); edits > 0; edits--) {
        chars.splice(random.int(chars.length), random.int(3), random.pick(JUNK));
      }
      return { kind, method: 'POST', path: predict, body: chars.join('') };
    }
    case 'body_truncation':
      return { kind, method: 'POST', path: predict, body: base.slice(0, random.int(base.length)) };
    case 'body_junk': {
      const body = Array.from({ length: 1 + random.int(20) }, () => random.pick(JUNK)).join('');
      return { kind, method: 'POST', path: predict, body };
    }
    case 'deep_nesting': {
      const depth = random.pick([255, 256, 1000, 100_000]);
      const body = random.next() < 0.5 ? `{"instances": ${'['.repeat(depth)}1${']'.repeat(depth)}}` : '['.repeat(depth);
      return { kind, method: 'POST', path: predict, body };
    }
    case 'raw_bytes': {
      const body = Buffer.from(Array.from({ length: random.int(200) }, () => random.int(256)));
      return { kind, method: 'POST', path: predict, body };
    }
    case 'path': {
      const paths = [
        `/v1/models/${model}:${random.pick(['predict', 'classify', 'regress', 'explode', '', ':'])}`,
        `/v1/models/${model}/versions/${random.pick(['1', '0', '-1', 'abc', '99999999999999999999', ''])}:predict`,
        `/v1/models/${model}/labels/${random.pick(['stable', '', '%00', '..'])}:predict`,
        `/v1/models/${model}/metadata${random.pick(['', 'x', '/'])}`,
        `/v1/models/${'%'.repeat(1 + random.int(3))}${model}`,
        `/v1/models/${'a'.repeat(random.pick([1, 1023, 1025, 5000]))}`,
        `/v1/models//${model}`,
        `/v1/${random.pick(['', 'model', 'models', 'models/'])}`,
        `/v1/models/${encodeURIComponent('\u00e9\u0000/..')}:predict`,
      ];
      const method = random.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
      return { kind, method, path: random.pick(paths), body: method === 'GET' ? undefined : base };
    }
    default: {
      const values = [
        '"a"',
        '{"b64": "!!"}',
        '[[1], 2]',
        '[1, [2]]',
        'null',
        '{}',
        '[]',
        '9223372036854775808',
        'true',
      ];
      const value = random.pick(values);
      const body = random.pick([
        `{"instances": ${value}}`,
        `{"inputs": {"x": ${value}}}`,
        `{"inputs": ${value}, "instances": [1]}`,
        `{"signature_name": ${value}, "instances": [1]}`,
      ]);
      return { kind, method: 'POST', path: predict, body };
    }
  }
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) / 1024;
}

/** Runs `count` jobs, `IN_FLIGHT` at a time. */
async function runAll(count: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

function tally(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function figures(counts: Map<string, number>): string {
  return JSON.stringify(Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))));
}

describe(`fuzzing bin/duoserve with bad requests (seed ${SEED}; DUOSERVE_FUZZ_SEED replays)`, () => {
  const dirs = new ModelDirs();
  let server: DuoserveProcess;
  let client: grpc.Client;
  let restUrl: string;
  let rssBefore: number;

  const raw = (bytes: Buffer) =>
    new Promise<{ code: number; details: string }>((resolve) => {
      client.makeUnaryRequest(
        '/tensorflow.serving.PredictionService/Predict',
        (buffer: Buffer) => buffer,
        (buffer: Buffer) => buffer,
        bytes,
        new grpc.Metadata(),
        { deadline: Date.now() + 30_000 },
        (error) =>
          resolve(error ? { code: error.code, details: error.details } : { code: grpc.status.OK, details: '' }),
      );
    });

  /** A crash explains every failure after it: say so first, with the server's last words. */
  function noteServerExit(failures: string[]): void {
    if (server.process.exitCode === null && server.process.signalCode === null) return;
    const how = server.process.exitCode ?? server.process.signalCode;
    failures.unshift(`the server exited (${how}); its output ends:\n${server.output().slice(-3000)}`);
  }

  async function assertServing(): Promise<void> {
    for (const target of TARGETS) {
      const reply = await raw(validRequest(target));
      assert.equal(reply.code, grpc.status.OK, `${target.model} no longer serves: ${reply.details}`);
    }
    const reply = await fetch(`${restUrl}/v1/models/half_plus_two:predict`, { method: 'POST', body: VALID_BODIES[0] });
    assert.deepEqual(await reply.json(), { predictions: [2.5, 3.0, 4.5] });
  }

  before(async () => {
    const config = path.join(dirs.root, 'models.config');
    fs.writeFileSync(
      config,
      modelConfigText(
        MODELS.map(({ name, platform }) => ({ name, base_path: path.join(EXAMPLES, name), model_platform: platform })),
      ),
    );
    const restPort = await freePort();
    restUrl = `http://127.0.0.1:${restPort}`;
    server = await startDuoserve(
      [`--rest_api_port=${restPort}`, `--model_config_file=${config}`],
      'half_plus_two',
      120_000,
    );
    for (const { name } of MODELS) await waitForStates(server.client, name, { 1: 'AVAILABLE' }, 120_000);
    client = new grpc.Client(server.grpcTarget, grpc.credentials.createInsecure());
    // First requests allocate what every later one reuses (thread pools, caches): not a leak.
    for (let round = 0; round < 3; round++) await assertServing();
    rssBefore = rssMiB(server.process.pid!);
  });
  after(async () => {
    client?.close();
    await server?.stop();
    dirs.cleanUp();
  });

  it(`${GRPC_REQUESTS} mutated gRPC PredictRequests each get a proper status`, async () => {
    const random = prng(SEED);
    const requests = Array.from({ length: GRPC_REQUESTS }, () => mutatedGrpcRequest(random));
    const codes = new Map<string, number>();
    const kinds = new Map<string, number>();
    const failures: string[] = [];
    await runAll(requests.length, async (index) => {
      const { kind, bytes } = requests[index];
      const { code, details } = await raw(bytes);
      tally(codes, grpc.status[code]);
      tally(kinds, kind);
      const why = !PROPER_GRPC.has(code)
        ? `status ${grpc.status[code]}`
        : code !== grpc.status.OK && (details === '' || Buffer.byteLength(details) > MAX_STATUS_MESSAGE_BYTES)
          ? `a message of ${Buffer.byteLength(details)} bytes`
          : undefined;
      if (why) {
        failures.push(
          `#${index} (${kind}, bytes ${bytes.toString('base64').slice(0, 200)}): ${why}: ${details.slice(0, 300)}`,
        );
      }
    });
    console.log(
      `gRPC fuzz (seed ${SEED}): ${requests.length} requests; statuses ${figures(codes)}; ` +
        `mutations ${figures(kinds)}; failures ${failures.length}`,
    );
    noteServerExit(failures);
    assert.deepEqual(failures.slice(0, 10), [], `seed ${SEED}: ${failures.length} improper replies`);
    await assertServing();
  });

  it(`${REST_REQUESTS} malformed REST requests each get a 4xx/5xx with {"error": ...}`, async () => {
    const random = prng(SEED ^ 0x5eed);
    const requests = Array.from({ length: REST_REQUESTS }, () => malformedRestRequest(random));
    const statuses = new Map<string, number>();
    const failures: string[] = [];
    await runAll(requests.length, async (index) => {
      const { kind, method, path: url, body } = requests[index];
      let why: string | undefined;
      let status = 'no reply';
      try {
        const reply = await fetch(`${restUrl}${url}`, { method, body, signal: AbortSignal.timeout(30_000) });
        status = String(reply.status);
        const text = await reply.text();
        if (reply.status !== 200) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const message = (parsed as { error?: unknown } | undefined)?.error;
          if (reply.status < 400) why = `status ${reply.status}`;
          else if (typeof message !== 'string' || message === '')
            why = `a body not {"error": ...}: ${text.slice(0, 200)}`;
          else if (Buffer.byteLength(message) > MAX_STATUS_MESSAGE_BYTES)
            why = `a ${Buffer.byteLength(message)}-byte message`;
        }
      } catch (error) {
        why = `no reply: ${(error as Error).message} (${String((error as Error).cause)})`;
      }
      tally(statuses, status);
      if (why)
        failures.push(
          `#${index} (${kind}: ${method} ${url.slice(0, 100)}, body ${String(body).slice(0, 100)}): ${why}`,
        );
    });
    console.log(
      `REST fuzz (seed ${SEED}): ${requests.length} requests; HTTP statuses ${figures(statuses)}; failures ${failures.length}`,
    );
    noteServerExit(failures);
    assert.deepEqual(failures.slice(0, 10), [], `seed ${SEED}: ${failures.length} improper replies`);
    await assertServing();
  });

  it(`RSS grows less than ${RSS_GROWTH_LIMIT_MIB} MiB over the run`, () => {
    const rssAfter = rssMiB(server.process.pid!);
    console.log(`RSS (seed ${SEED}): ${rssBefore.toFixed(0)} MiB before, ${rssAfter.toFixed(0)} MiB after`);
    const growth = `RSS grew from ${rssBefore.toFixed(0)} to ${rssAfter.toFixed(0)} MiB`;
    assert.ok(rssAfter - rssBefore < RSS_GROWTH_LIMIT_MIB, growth);
  });
});
