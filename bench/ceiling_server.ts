/**
 * The servers the gRPC ceiling bench compares, each in a child process of its own: the bare
 * grpc-js echo of echo_servers.ts under one set of options, in one process or in several
 * node:cluster processes sharing the port, and, for reference, the same echo written on
 * node:http2 directly (no grpc-js), which says how much of the cost is grpc-js's own.
 *
 * Parent side: startCeilingServer(). Child side: this file run with node (forked, IPC channel).
 */
import { fork } from 'node:child_process';
import cluster from 'node:cluster';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
// The module object itself (a default import; an import namespace's properties are read-only), to wrap createServer.
import http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { serveGrpcEcho, stopChild } from './echo_servers';

export interface CeilingVariant {
  name: string;
  /** What the variant tries, for the report. */
  about: string;
  /**
   * 'node-http2': gRPC framing by hand on node:http2, a floor under grpc-js. 'grpc-js-worker':
   * the grpc-js server on a worker thread that forwards each request's bytes to the main thread
   * (where duoserve's models and Predict would stay) and answers with the bytes it gets back.
   */
  transport?: 'grpc-js' | 'node-http2' | 'grpc-js-worker';
  serverOptions?: grpc.ServerOptions;
  /**
   * Node http2 settings grpc-js does not pass through (it sets only maxConcurrentStreams), put in
   * by wrapping http2.createServer: a probe of what grpc-js would gain if it exposed them.
   */
  http2Settings?: http2.Settings;
  /** The connection-level receive window each session asks for (http2session.setLocalWindowSize). */
  localWindowSize?: number;
  /** Both windows set as duoserve sets them (grpc_server.ts widenFlowControlWindows). */
  flowControlWindow?: number;
  /** Server processes sharing the port through node:cluster (round-robin by connection). */
  processes?: number;
  /** Node/V8 flags for the server process, e.g. a larger young generation. */
  nodeFlags?: string[];
}

interface StartMessage {
  variant: CeilingVariant;
  /** The method's path, and the bytes it answers with. */
  path: string;
  response: Buffer;
}

interface ReadyMessage {
  port: number;
  /** Every process serving (a cluster's primary first: it accepts the connections). */
  pids: number[];
}

export interface CeilingServer {
  target: string;
  pids: number[];
  stop(): Promise<void>;
}

function wrapHttp2CreateServer(variant: CeilingVariant): void {
  if (!variant.http2Settings && variant.localWindowSize === undefined) return;
  const createServer = http2.createServer;
  const wrapped = (options: http2.ServerOptions = {}) => {
    const server = createServer({ ...options, settings: { ...options.settings, ...variant.http2Settings } });
    if (variant.localWindowSize !== undefined) {
      const size = variant.localWindowSize;
      server.on('session', (session) => session.setLocalWindowSize(size));
    }
    return server;
  };
  (http2 as { createServer: unknown }).createServer = wrapped;
}

/** The echo on node:http2 alone: the request's framed bytes are read whole, the framed response written once. */
function serveNodeHttp2(start: StartMessage): Promise<number> {
  const framed = Buffer.allocUnsafe(start.response.length + 5);
  framed.writeUInt8(0, 0);
  framed.writeUInt32BE(start.response.length, 1);
  start.response.copy(framed, 5);
  const server = http2.createServer({ maxSessionMemory: Number.MAX_SAFE_INTEGER, ...variantSettings(start.variant) });
  // A client that stops mid-call resets its streams: that ends the call, not the server.
  server.on('session', (session) => session.on('error', () => {}));
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    stream.on('data', () => {});
    stream.on('end', () => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
      stream.end(framed);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

function variantSettings(variant: CeilingVariant): http2.ServerOptions {
  return variant.http2Settings ? { settings: variant.http2Settings } : {};
}

interface Forwarded {
  id: number;
  bytes: Uint8Array;
}

/** Main thread: starts the transport worker, answers what it forwards, resolves to its port. */
function serveThroughWorker(start: StartMessage): Promise<number> {
  const worker = new Worker(__filename, { workerData: start });
  worker.on('message', (message: Forwarded | { port: number }) => {
    if ('port' in message) return;
    // A copy per answer, as a model thread's fresh output would be: moved, not cloned.
    const bytes = new Uint8Array(start.response);
    worker.postMessage({ id: message.id, bytes } satisfies Forwarded, [bytes.buffer]);
  });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { port: number }) => resolve(message.port));
  });
}

/** Transport worker: the grpc-js echo whose every answer comes from the main thread. */
async function transportWorkerMain(start: StartMessage): Promise<void> {
  const pending = new Map<number, (bytes: Buffer) => void>();
  let nextId = 0;
  parentPort!.on('message', ({ id, bytes }: Forwarded) => {
    pending.get(id)!(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    pending.delete(id);
  });
  const answer = (request: Buffer) =>
    new Promise<Buffer>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      // grpc-js's request Buffer may share its memory: copy it into one of its own to move it.
      const bytes = new Uint8Array(request);
      parentPort!.postMessage({ id, bytes } satisfies Forwarded, [bytes.buffer]);
    });
  const port = await serveGrpcEcho({ path: start.path, answer, flowControlWindow: start.variant.flowControlWindow });
  parentPort!.postMessage({ port });
}

async function serve(start: StartMessage): Promise<number> {
  if (start.variant.transport === 'node-http2') return serveNodeHttp2(start);
  if (start.variant.transport === 'grpc-js-worker') return serveThroughWorker(start);
  wrapHttp2CreateServer(start.variant);
  const { serverOptions, flowControlWindow } = start.variant;
  return serveGrpcEcho({ serverOptions, flowControlWindow, path: start.path, response: start.response });
}

function failed(error: unknown): never {
  console.error(`ceiling server failed to start: ${(error as Error).stack ?? error}`);
  process.exit(1);
}

/** A cluster's primary forks the workers and reports once all of them listen on the one shared port. */
async function primaryMain(start: StartMessage, processes: number): Promise<ReadyMessage> {
  cluster.setupPrimary({ serialization: 'advanced', execArgv: process.execArgv });
  const ready = await Promise.all(
    Array.from(
      { length: processes },
      () =>
        new Promise<ReadyMessage>((resolve, reject) => {
          const worker = cluster.fork();
          worker.once('exit', (code) => reject(new Error(`cluster worker exited with code ${code}`)));
          worker.once('message', resolve);
          worker.send(start);
        }),
    ),
  );
  const ports = new Set(ready.map((message) => message.port));
  if (ports.size !== 1) throw new Error(`cluster workers listen on different ports: ${[...ports]}`);
  // The primary accepts each connection and hands it to a worker: its CPU counts too.
  return { port: ready[0].port, pids: [process.pid, ...ready.flatMap((message) => message.pids)] };
}

function childMain(): void {
  // Exiting (not dying of the signal) lets --cpu-prof write its profile.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.once('message', (start: StartMessage) => {
    const processes = start.variant.processes ?? 1;
    const ready: Promise<ReadyMessage> =
      cluster.isPrimary && processes > 1
        ? primaryMain(start, processes)
        : serve(start).then((port) => ({ port, pids: [process.pid] }));
    ready.then((message) => process.send!(message), failed);
  });
}

/** execArgv: e.g. --cpu-prof for a profile of the server. */
export function startCeilingServer(
  variant: CeilingVariant,
  path: string,
  response: Buffer,
  execArgv: string[] = [],
): Promise<CeilingServer> {
  const child = fork(__filename, [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
    execArgv: [...(variant.nodeFlags ?? []), ...execArgv],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${variant.name} exited with code ${code} before answering`)));
    child.once('message', (ready: ReadyMessage) =>
      resolve({ target: `127.0.0.1:${ready.port}`, pids: ready.pids, stop: () => stopChild(child) }),
    );
    child.send({ variant, path, response } satisfies StartMessage);
  });
}

if (!isMainThread) transportWorkerMain(workerData as StartMessage).catch(failed);
else if (require.main === module) childMain();
