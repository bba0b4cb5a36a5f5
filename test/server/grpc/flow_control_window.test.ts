import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  DEFAULT_FLOW_CONTROL_WINDOW,
  FLOW_CONTROL_WINDOW_ARGUMENT,
  startGrpcServer,
} from '../../../src/server/grpc/grpc_server';
import { FakeManager } from '../rest/fakes/fake_manager';

interface Windows {
  /** The server's SETTINGS_INITIAL_WINDOW_SIZE: what each new stream may send it unacknowledged. */
  stream: number;
  /** What the whole connection may send it before it acknowledges (after its WINDOW_UPDATE). */
  connection: number;
}

/** The receive windows a plain HTTP/2 client is given by the server at `authority`. */
async function windowsSeenBy(authority: string, options: http2.SecureClientSessionOptions = {}): Promise<Windows> {
  const session = http2.connect(authority, options);
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
    });
    // The connection's WINDOW_UPDATE follows the SETTINGS frame: a ping's answer comes after it.
    await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
    return { stream: session.remoteSettings.initialWindowSize!, connection: session.state.remoteWindowSize! };
  } finally {
    session.destroy();
  }
}

describe(`gRPC HTTP/2 windows (${FLOW_CONTROL_WINDOW_ARGUMENT})`, () => {
  it('gives each stream and the connection 8 MiB by default, on TCP and on the Unix socket', async () => {
    const socketPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-window-')), 'grpc.sock');
    const { server, port } = await startGrpcServer(new FakeManager(), {
      port: 0,
      listenAddress: '127.0.0.1',
      socketPath,
      channelArguments: {},
    });
    try {
      const expected = { stream: DEFAULT_FLOW_CONTROL_WINDOW, connection: DEFAULT_FLOW_CONTROL_WINDOW };
      assert.deepEqual(await windowsSeenBy(`http://127.0.0.1:${port}`), expected);
      const overSocket = await windowsSeenBy('http://localhost', {
        createConnection: () => net.connect(socketPath),
      });
      assert.deepEqual(overSocket, expected);
    } finally {
      server.forceShutdown();
      fs.rmSync(path.dirname(socketPath), { recursive: true, force: true });
    }
  });

  it('takes the size from --grpc_channel_arguments (65535: HTTP/2 and grpc-js defaults)', async () => {
    for (const size of [65_535, 1 << 20]) {
      const { server, port } = await startGrpcServer(new FakeManager(), {
        port: 0,
        listenAddress: '127.0.0.1',
        channelArguments: { [FLOW_CONTROL_WINDOW_ARGUMENT]: size },
      });
      try {
        assert.deepEqual(await windowsSeenBy(`http://127.0.0.1:${port}`), { stream: size, connection: size });
      } finally {
        server.forceShutdown();
      }
    }
  });

  it('refuses a size that is not a whole number of bytes in HTTP/2 range, naming the argument', async () => {
    for (const size of [0, 65_534, 2 ** 31, 'wide']) {
      await assert.rejects(
        startGrpcServer(new FakeManager(), { port: 0, channelArguments: { [FLOW_CONTROL_WINDOW_ARGUMENT]: size } }),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'INVALID_ARGUMENT');
          assert.match(error.message, /grpc-node\.flow_control_window must be a whole number of bytes from 65535/);
          return true;
        },
      );
    }
  });
});
