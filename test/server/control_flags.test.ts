/**
 * The flags that restrict who may reach and steer bin/duoserve: transport security it cannot
 * give is refused at start (never a silent plaintext server), the listen addresses are
 * honoured, and HandleReloadConfigRequest can be kept to the Unix socket or turned off.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ReloadConfigRpcMode } from '../../src/config/flag_checks';
import { startGrpcServer } from '../../src/server/grpc/grpc_server';
import {
  EXAMPLE_MODELS,
  freePort,
  ModelDirs,
  REPO_ROOT,
  rpcError,
  ServingClient,
  serverConfigMessage,
  startDuoserve,
} from './lifecycle_helpers';
import { FakeManager } from './rest/fakes/fake_manager';

const [tensorflow] = EXAMPLE_MODELS;
const HALF_PLUS_TWO = path.join(REPO_ROOT, 'var', 'models', 'examples', 'half_plus_two');

function duoserve(args: string[]) {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'duoserve'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout };
}

describe('bin/duoserve refuses security it cannot give', { timeout: 60_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-tls-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const failed = 'Failed to start server. Error: ';

  it('--ssl_config_file that cannot be served (placeholders, garbage, missing): exit 255 with the reason', () => {
    const garbage = path.join(dir, 'garbage.config');
    fs.writeFileSync(garbage, '\x00\x01 not an SSLConfig {{{');
    const placeholders = path.join(dir, 'ssl.config');
    fs.writeFileSync(placeholders, 'server_key: "k" server_cert: "c" client_verify: false\n');
    const missing = path.join(dir, 'missing.config');
    for (const [file, expected] of [
      [
        placeholders,
        `INVALID_ARGUMENT: --ssl_config_file ${placeholders}: server_key holds no PEM text (the field takes the PEM ` +
          'itself, not a file name)',
      ],
      [
        garbage,
        `INVALID_ARGUMENT: Invalid protobuf file: '${garbage}': Error parsing text-format tensorflow.serving.SSLConfig: ` +
          '1:1: invalid character',
      ],
      [missing, `NOT_FOUND: ${missing}; No such file or directory`],
    ]) {
      const { status, stdout } = duoserve([
        `--ssl_config_file=${file}`,
        '--port=1',
        `--model_base_path=${HALF_PLUS_TWO}`,
      ]);
      assert.equal(status, 255, file);
      assert.equal(stdout, `${failed}${expected}\n`);
    }
  });

  it("--use_alts_credentials: exit 255; with --ssl_config_file too, TF-Serving's own message", () => {
    const alts = duoserve(['--use_alts_credentials', '--port=1', `--model_base_path=${HALF_PLUS_TWO}`]);
    assert.equal(alts.status, 255);
    assert.equal(
      alts.stdout,
      `${failed}INVALID_ARGUMENT: --use_alts_credentials is set, but duoserve has no ALTS, and it refuses to start ` +
        'rather than serve plaintext: use --ssl_config_file, or secure the traffic in front of it (a service mesh), ' +
        'and remove the flag.\n',
    );
    const both = duoserve([
      '--use_alts_credentials',
      '--ssl_config_file=/x',
      '--port=1',
      `--model_base_path=${HALF_PLUS_TWO}`,
    ]);
    assert.equal(both.status, 255);
    assert.equal(
      both.stdout,
      'Failed to start server. Error: INVALID_ARGUMENT: Either use_alts_credentials must be false or ssl_config_file must be empty.\n',
    );
  });
});

describe('bin/duoserve listen addresses and --duoserve_reload_config_rpc=socket_only', { timeout: 60_000 }, () => {
  const dirs = new ModelDirs();
  after(() => dirs.cleanUp());

  it('serves on the addresses given only, and takes reloads over the Unix socket only', async () => {
    const restPort = await freePort();
    const base = dirs.basePath('half_plus_two');
    dirs.addVersion(base, tensorflow, 1);
    // 127.0.0.2 is loopback too; a server bound to it is not reachable at 127.0.0.1.
    const server = await startDuoserve(
      [
        `--model_name=half_plus_two`,
        `--model_base_path=${base}`,
        `--rest_api_port=${restPort}`,
        '--duoserve_grpc_listen_address=127.0.0.2',
        '--duoserve_rest_listen_address=127.0.0.2',
        '--duoserve_reload_config_rpc=socket_only',
      ],
      'half_plus_two',
    );
    const grpcPort = Number(/--port=(\d+)/.exec(server.process.spawnargs.join(' '))![1]);
    const bound = new ServingClient(`127.0.0.2:${grpcPort}`);
    const elsewhere = new ServingClient(`127.0.0.1:${grpcPort}`);
    try {
      assert.match(server.output(), new RegExp(`Running gRPC ModelServer at 127\\.0\\.0\\.2:${grpcPort} \\.\\.\\.`));
      assert.deepEqual((await bound.predict({ name: 'half_plus_two' })).y, [2.5, 3, 4.5]);
      assert.equal((await rpcError(elsewhere.predict({ name: 'half_plus_two' }, 2_000))).code, grpc.status.UNAVAILABLE);
      const status = await fetch(`http://127.0.0.2:${restPort}/v1/models/half_plus_two`);
      assert.equal(status.status, 200);
      await assert.rejects(fetch(`http://127.0.0.1:${restPort}/v1/models/half_plus_two`), /fetch failed/);

      const config = serverConfigMessage([{ name: 'half_plus_two', base_path: base, model_platform: 'tensorflow' }]);
      const overTcp = await rpcError(bound.reload(config));
      assert.equal(overTcp.code, grpc.status.PERMISSION_DENIED);
      assert.equal(
        overTcp.details,
        'HandleReloadConfigRequest is not accepted over TCP (only over --grpc_socket_path): ' +
          '--duoserve_reload_config_rpc=socket_only',
      );
      // An empty config would unload every model: refused over TCP, the model still serves.
      assert.equal((await rpcError(bound.reload(serverConfigMessage([])))).code, grpc.status.PERMISSION_DENIED);
      assert.deepEqual(await bound.states('half_plus_two'), { 1: 'AVAILABLE' });
      // The Unix socket (startDuoserve's own client) still takes it; read-only ModelService calls pass over TCP.
      assert.equal((await server.client.reload(config)).status.error_code, 0);
    } finally {
      bound.close();
      elsewhere.close();
      await server.stop();
    }
  });
});

describe('--duoserve_reload_config_rpc on the gRPC server', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-rpc-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Reload over TCP and over the socket: 'OK' or the status name. */
  async function reloadOutcomes(mode: ReloadConfigRpcMode): Promise<{ tcp: string; socket: string; applied: number }> {
    const socketPath = path.join(dir, `${mode}.sock`);
    let applied = 0;
    const started = await startGrpcServer(
      new FakeManager(),
      { port: 0, socketPath, channelArguments: {}, reloadConfigRpc: mode },
      async () => void applied++,
    );
    const outcome = async (client: ServingClient) => {
      try {
        await client.reload(serverConfigMessage([]));
        return 'OK';
      } catch (error) {
        return grpc.status[(error as grpc.ServiceError).code];
      } finally {
        client.close();
      }
    };
    try {
      const tcp = await outcome(new ServingClient(`127.0.0.1:${started.port}`));
      const socket = await outcome(new ServingClient(`unix:${socketPath}`));
      return { tcp, socket, applied };
    } finally {
      started.server.forceShutdown();
    }
  }

  it("all (TF-Serving's default): accepted everywhere", async () => {
    assert.deepEqual(await reloadOutcomes('all'), { tcp: 'OK', socket: 'OK', applied: 2 });
  });

  it('socket_only: over the Unix socket alone', async () => {
    assert.deepEqual(await reloadOutcomes('socket_only'), { tcp: 'PERMISSION_DENIED', socket: 'OK', applied: 1 });
  });

  it('off: nowhere', async () => {
    assert.deepEqual(await reloadOutcomes('off'), {
      tcp: 'PERMISSION_DENIED',
      socket: 'PERMISSION_DENIED',
      applied: 0,
    });
  });
});
