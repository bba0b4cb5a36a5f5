/**
 * A bounded, seeded fuzz of /v2 infer bodies against a real in-process server (TensorFlow and
 * PyTorch): valid JSON and binary-extension bodies mutated (bytes flipped, cut, inserted; the
 * header length, shapes, datatypes and binary BYTES' length prefixes changed). Every answer must be a 200 or a 4xx with a
 * bounded {"error": ...}, never a 5xx or a dropped connection, and the server must answer a valid
 * request afterwards. DUOSERVE_FUZZ_SEED=<n> replays a run (the seed is named in every failure).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_STATUS_MESSAGE_BYTES } from '../../../../src/errors/status_message';
import { platformRegistry } from '../../../../src/platforms/registry';
import { OpenInference } from '../../../../src/server/open_inference/open_inference';
import { startRestServer } from '../../../../src/server/rest/rest_server';
import { ServerCore } from '../../../../src/server/server_core';
import { prng, type Random } from '../../../seeded_random';
import {
  EXAMPLE_MODELS,
  EXPECTED_Y,
  INPUT_X,
  ModelDirs,
  modelServerConfig,
  recordingLog,
  REPO_ROOT,
} from '../../lifecycle_helpers';

const SEED = Number(process.env.DUOSERVE_FUZZ_SEED ?? 20261201);
const REQUESTS = 600;
const IN_FLIGHT = 8;
const DATATYPES = ['FP32', 'FP64', 'FP16', 'BF16', 'INT8', 'INT64', 'UINT64', 'BOOL', 'BYTES', 'FP8', ''];

interface Body {
  bytes: Buffer;
  headerLength?: number;
}

function jsonBody(): Body {
  return {
    bytes: Buffer.from(
      JSON.stringify({
        id: 'fuzz',
        parameters: { binary_data_output: true },
        inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: INPUT_X }],
        outputs: [{ name: 'y', parameters: { binary_data: false } }],
      }),
    ),
  };
}

function binaryBody(): Body {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', shape: [3], datatype: 'FP32', parameters: { binary_data_size: 12 } }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    }),
  );
  return { bytes: Buffer.concat([header, Buffer.from(new Float32Array(INPUT_X).buffer)]), headerLength: header.length };
}

/** Every input of the all_dtypes identity as JSON, but BYTES as binary: its length prefixes get mutated too. */
function bytesBody(): Body {
  const numeric = [
    'uint8',
    'uint16',
    'uint32',
    'uint64',
    'int8',
    'int16',
    'int32',
    'int64',
    'fp16',
    'bf16',
    'fp32',
    'fp64',
  ];
  const strings = Buffer.from([3, 0, 0, 0, 0x64, 0x75, 0x6f, 0, 0, 0, 0]);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'bytes', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: strings.length } },
        { name: 'bool', shape: [1], datatype: 'BOOL', data: [true] },
        ...numeric.map((name) => ({ name, shape: [1], datatype: name.toUpperCase(), data: [1] })),
      ],
      outputs: [{ name: 'bytes_out', parameters: { binary_data: true } }],
    }),
  );
  return { bytes: Buffer.concat([header, strings]), headerLength: header.length };
}

/** One mutation of a valid body. */
function mutate(random: Random, body: Body): Body {
  const bytes = Buffer.from(body.bytes);
  const text = bytes.toString('latin1');
  switch (random.int(7)) {
    case 0: // flip bytes
      for (let i = 0, n = 1 + random.int(4); i < n; i++) bytes[random.int(bytes.length)] = random.int(256);
      return { ...body, bytes };
    case 1: // cut
      return { ...body, bytes: bytes.subarray(0, random.int(bytes.length)) };
    case 2: {
      // insert
      const at = random.int(bytes.length);
      const junk = Buffer.from(
        Array.from({ length: 1 + random.int(8) }, () =>
          random.pick([0x22, 0x5b, 0x7d, 0x2c, 0x30, 0x2d, random.int(256)]),
        ),
      );
      return { ...body, bytes: Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)]) };
    }
    case 3: // the header length off, or present without binary data
      return { ...body, headerLength: Math.max(0, (body.headerLength ?? bytes.length) + random.int(41) - 20) };
    case 4: {
      if (body.bytes.includes('"BYTES"')) {
        // a length prefix or an element of the binary BYTES changed
        const at = body.headerLength! + random.int(bytes.length - body.headerLength!);
        bytes[at] = random.pick([0, 1, 2, 3, 4, 0x7f, 0xff, random.int(256)]);
        return { ...body, bytes };
      }
      // a shape changed
      const shape = random.pick([
        '[]',
        '[0]',
        '[4]',
        '[3,1]',
        '[1,3]',
        '[-1]',
        '[3.5]',
        '[9007199254740993]',
        '[4294967296,4294967296]',
        '"3"',
      ]);
      return { ...body, bytes: Buffer.from(text.replace('[3]', shape), 'latin1') };
    }
    case 5: // a datatype changed
      return { ...body, bytes: Buffer.from(text.replace('"FP32"', JSON.stringify(random.pick(DATATYPES))), 'latin1') };
    default: {
      // binary_data_size changed
      const size = random.pick(['0', '11', '13', '-12', '12.5', '"12"', 'true', '1e300', '18446744073709551616']);
      return {
        ...body,
        bytes: Buffer.from(text.replace('"binary_data_size":12', `"binary_data_size":${size}`), 'latin1'),
      };
    }
  }
}

describe('fuzzed /v2 infer bodies', { timeout: 180_000 }, () => {
  const dirs = new ModelDirs();
  let core: ServerCore;
  let rest: { port: number; close(): Promise<unknown> };

  before(async () => {
    const models: Array<{ name: string; base_path: string; model_platform: string }> = EXAMPLE_MODELS.map((model) => {
      const basePath = dirs.basePath(model.platform);
      dirs.addVersion(basePath, model, 1);
      return { name: model.platform, base_path: basePath, model_platform: model.platform };
    });
    models.push({
      name: 'dtypes',
      base_path: path.join(REPO_ROOT, 'var', 'models', 'test', 'tensorflow', 'all_dtypes'),
      model_platform: 'tensorflow',
    });
    core = new ServerCore(modelServerConfig(models), {
      platforms: platformRegistry({ savedModelTags: ['serve'] }),
      fileSystemPollWaitSeconds: 0.2,
      maxNumLoadRetries: 0,
      log: recordingLog().log,
    });
    await core.waitUntilModelsAvailable();
    const openInference = new OpenInference(core.manager, {
      platformOf: (name) => models.find((model) => model.name === name)?.model_platform,
    });
    rest = await startRestServer(core.manager, { port: 0, listenAddress: '127.0.0.1', timeoutMs: 0, openInference });
  });
  after(async () => {
    await rest?.close();
    await core?.shutdown();
    dirs.cleanUp();
  });

  const send = async (model: string, body: Body) => {
    const headers: Record<string, string> =
      body.headerLength === undefined ? {} : { 'inference-header-content-length': String(body.headerLength) };
    const response = await fetch(`http://127.0.0.1:${rest.port}/v2/models/${model}/infer`, {
      method: 'POST',
      body: body.bytes,
      headers,
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      bytes: Buffer.from(await response.arrayBuffer()),
    };
  };

  it(`answers every mutated body with 200 or a bounded 4xx (seed ${SEED})`, async () => {
    const random = prng(SEED);
    const statuses = new Map<number, number>();
    for (let sent = 0; sent < REQUESTS; sent += IN_FLIGHT) {
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async (_, i) => {
          const kind = random.int(3);
          const model = kind === 2 ? 'dtypes' : random.pick(['tensorflow', 'pytorch']);
          const body = mutate(random, [jsonBody, binaryBody, bytesBody][kind]());
          const what = `seed ${SEED}, request ${sent + i}: ${body.bytes.toString('latin1').slice(0, 300)} (header ${body.headerLength})`;
          const answer = await send(model, body);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          assert.ok(
            answer.status === 200 || (answer.status >= 400 && answer.status < 500),
            `${what}: HTTP ${answer.status} ${answer.bytes.toString().slice(0, 300)}`,
          );
          if (answer.status !== 200) {
            assert.equal(answer.type, 'application/json', what);
            const error = JSON.parse(answer.bytes.toString()).error;
            assert.equal(typeof error, 'string', what);
            assert.ok(Buffer.byteLength(error) <= MAX_STATUS_MESSAGE_BYTES, what);
          }
        }),
      );
    }
    // The mutations reach past the JSON parser: some bodies still run, many are refused.
    assert.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, JSON.stringify([...statuses]));
    const good = await send('pytorch', jsonBody());
    assert.equal(good.status, 200);
    assert.deepEqual(JSON.parse(good.bytes.toString()).outputs[0].data, EXPECTED_Y);
    // The unmutated BYTES body runs, its strings coming back as they went.
    const strings = bytesBody();
    const echoed = await send('dtypes', strings);
    assert.equal(echoed.status, 200, echoed.bytes.toString());
    assert.deepEqual(echoed.bytes.subarray(-11), strings.bytes.subarray(strings.headerLength));
  });
});
