/**
 * A model file that is a link to a private file (here a stand-in for /etc/passwd) fails to load,
 * and the reason GetModelStatus and REST status give names the file and the problem, never its
 * contents: for every file a loader reads (TensorFlow's saved_model.pb and .pbtxt, TorchScript's
 * model.pt and its signature.json, an AOTInductor model.pt2, a chain's chain.pbtxt, the warmup
 * records).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { platformRegistry } from '../../src/platforms/registry';
import { startGrpcServer } from '../../src/server/grpc/grpc_server';
import { startRestServer } from '../../src/server/rest/rest_server';
import { ServerCore } from '../../src/server/server_core';
import {
  EXAMPLE_MODELS,
  ModelDirs,
  modelServerConfig,
  recordingLog,
  REPO_ROOT,
  ServingClient,
} from './lifecycle_helpers';

const SECRET_MARK = 's3cr3t';
/** What /etc/passwd looks like, so each parser meets the same kind of text. */
const SECRET_TEXT = `${SECRET_MARK}:x:0:0:${SECRET_MARK}:/${SECRET_MARK}:/bin/bash\nbin:x:1:1:${SECRET_MARK}:/bin:/usr/sbin/nologin\n`;
const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');

interface LeakCase {
  name: string;
  platform: string;
  /** The example version copied first (undefined: an empty version directory). */
  example?: string;
  /** The file replaced by a link to the secret. */
  file: string;
}

const CASES: LeakCase[] = [
  { name: 'tf_saved_model', platform: 'tensorflow', file: 'saved_model.pb' },
  { name: 'tf_saved_model_text', platform: 'tensorflow', file: 'saved_model.pbtxt' },
  {
    name: 'tf_warmup',
    platform: 'tensorflow',
    example: 'half_plus_two',
    file: 'assets.extra/tf_serving_warmup_requests',
  },
  {
    name: 'torch_warmup',
    platform: 'pytorch',
    example: 'half_plus_two_torch',
    file: 'assets.extra/tf_serving_warmup_requests',
  },
  { name: 'torch_model', platform: 'pytorch', file: 'model.pt' },
  { name: 'torch_signature', platform: 'pytorch', example: 'half_plus_two_torch', file: 'signature.json' },
  { name: 'pt2_package', platform: 'pytorch', file: 'model.pt2' },
  { name: 'chain', platform: 'chain', file: 'chain.pbtxt' },
];

describe('a model file linked to a private file', () => {
  const dirs = new ModelDirs();
  let core: ServerCore;
  let startError: Error | undefined;
  let logLines: string[] = [];
  let grpcServer: Awaited<ReturnType<typeof startGrpcServer>>;
  let client: ServingClient;
  let rest: Awaited<ReturnType<typeof startRestServer>>;

  before(async () => {
    const secret = path.join(dirs.root, 'passwd');
    fs.writeFileSync(secret, SECRET_TEXT);
    const models = CASES.map(({ name, platform, example, file }) => {
      const basePath = dirs.basePath(name);
      const version = path.join(basePath, '1');
      if (example) fs.cpSync(path.join(EXAMPLES, example, '1'), version, { recursive: true });
      else fs.mkdirSync(version);
      fs.rmSync(path.join(version, file), { force: true });
      fs.symlinkSync(secret, path.join(version, file));
      return { name, base_path: basePath, model_platform: platform };
    });
    // The chain would wait for its model otherwise; give it one that loads.
    const served = EXAMPLE_MODELS[0];
    const servedBase = dirs.basePath(served.example);
    dirs.addVersion(servedBase, served, 1);
    models.push({ name: served.example, base_path: servedBase, model_platform: served.platform });
    const { log, lines } = recordingLog();
    logLines = lines;
    core = new ServerCore(modelServerConfig(models), {
      platforms: (manager) => platformRegistry({ savedModelTags: ['serve'] }, manager),
      fileSystemPollWaitSeconds: 0.2,
      maxNumLoadRetries: 0,
      log,
    });
    // Resolves once every version has settled; the start-up error lists each failure.
    startError = await core.waitUntilModelsAvailable().then(
      () => undefined,
      (error: Error) => error,
    );
    grpcServer = await startGrpcServer(core.manager, { port: 0, channelArguments: {} });
    client = new ServingClient(`127.0.0.1:${grpcServer.port}`);
    rest = await startRestServer(core.manager, { port: 0, timeoutMs: 10_000 });
  });
  after(async () => {
    client?.close();
    await rest?.close();
    grpcServer?.server.forceShutdown();
    await core?.shutdown();
    dirs.cleanUp();
  });

  it('every one fails to load, and neither the start-up error nor the log quotes it', () => {
    assert.ok(startError, 'every model loaded');
    for (const { name } of CASES) assert.match(startError.message, new RegExp(`name: ${name} version: 1`));
    assert.ok(!startError.message.includes(SECRET_MARK), startError.message);
    const quoting = logLines.filter((line) => line.includes(SECRET_MARK));
    assert.deepEqual(quoting, []);
  });

  for (const { name, file } of CASES) {
    it(`${name} (${file}): GetModelStatus and REST status name the file, not what it holds`, async () => {
      const [status] = await client.status({ name });
      assert.equal(status.state, 'END');
      assert.notEqual(status.errorCode, 0);
      // TensorFlow names the version directory, duoserve's own checks the file.
      const named = status.errorMessage.includes(file) || status.errorMessage.includes(path.join(name, '1'));
      assert.ok(named, `the message names neither the file nor its version: ${status.errorMessage}`);
      assert.ok(!status.errorMessage.includes(SECRET_MARK), `GetModelStatus quotes the file: ${status.errorMessage}`);
      const reply = await fetch(`http://127.0.0.1:${rest.port}/v1/models/${name}`);
      const text = await reply.text();
      assert.ok(text.includes('"error_code"'), text);
      assert.ok(!text.includes(SECRET_MARK), `REST status quotes the file: ${text}`);
    });
  }
});
