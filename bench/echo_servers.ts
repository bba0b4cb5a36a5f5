/**
 * The floor each API is compared with: a bare grpc-js unary echo (raw Buffer in, the same
 * Buffer out, identity serializers) and a bare fastify route that takes the same JSON body and
 * answers a body of the model's response size. They run in a child process, as duoserve does,
 * so that client and server never share an event loop in either case.
 *
 * Parent side: startEchoServers(). Child side: this file run with node (forked, IPC channel).
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import fastify from 'fastify';
import { DEFAULT_FLOW_CONTROL_WINDOW, widenFlowControlWindows } from '../src/server/grpc/grpc_server';
import { rawUnaryMethod } from '../src/server/grpc/raw_method';

export const ECHO_PATH = '/bench.Echo/Echo';

export function restEchoPath(model: string): string {
  return `/echo/${encodeURIComponent(model)}`;
}

interface StartMessage {
  /** The body each model's REST echo answers with (the real server's answer, recorded). */
  restResponses: Record<string, string>;
}

interface ReadyMessage {
  grpcPort: number;
  restPort: number;
}

export interface EchoServers {
  /** The child serving both, e.g. for its CPU time (process_cpu.ts). */
  pid: number;
  grpcTarget: string;
  restPort: number;
  stop(): Promise<void>;
}

// Same as duoserve: gRPC's 4 MiB default lifted (TF-Serving does the same).
const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

export interface GrpcEchoOptions {
  /** Server options on top of the lifted message limits (the ceiling bench varies them). */
  serverOptions?: grpc.ServerOptions;
  /** The method's path (default ECHO_PATH); a real one lets generic clients such as ghz call it. */
  path?: string;
  /** Answer these bytes instead of the request's, e.g. a recorded PredictResponse. */
  response?: Buffer;
  /** Default 0: any free port. */
  port?: number;
  /** HTTP/2 receive windows as duoserve sets them (grpc_server.ts); omitted: grpc-js's 64 KiB. */
  flowControlWindow?: number;
  /** Answers each request elsewhere (e.g. on another thread); overrides `response`. */
  answer?: (request: Buffer) => Promise<Buffer>;
}

/** The bare unary echo; resolves to its port. */
export async function serveGrpcEcho(options: GrpcEchoOptions = {}): Promise<number> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...options.serverOptions,
  });
  const { response, answer } = options;
  server.addService(
    { Echo: { ...rawUnaryMethod('bench.Echo', 'Echo'), path: options.path ?? ECHO_PATH } },
    {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        if (!answer) return callback(null, response ?? call.request);
        answer(call.request).then(
          (bytes) => callback(null, bytes),
          (error: Error) => callback({ code: grpc.status.INTERNAL, details: error.message }),
        );
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  if (options.flowControlWindow !== undefined) widenFlowControlWindows(server, options.flowControlWindow);
  return port;
}

async function serveRestEcho(responses: Record<string, string>): Promise<number> {
  // fastify's own JSON body parser runs, as it does for any JSON route.
  const app = fastify({ logger: false, bodyLimit: MAX_MESSAGE_BYTES });
  app.post<{ Params: { model: string } }>('/echo/:model', async (request, reply) => {
    const body = responses[request.params.model];
    if (body === undefined) return reply.code(404).send({ error: `no echo for ${request.params.model}` });
    return reply.type('application/json').send(body);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('fastify echo has no TCP port');
  return address.port;
}

function childMain(): void {
  process.on('disconnect', () => process.exit(0));
  process.once('message', (message: StartMessage) => {
    // The same transport settings as duoserve's gRPC server, so that the floor is comparable.
    const grpcEcho = serveGrpcEcho({ flowControlWindow: DEFAULT_FLOW_CONTROL_WINDOW });
    Promise.all([grpcEcho, serveRestEcho(message.restResponses)]).then(
      ([grpcPort, restPort]) => process.send!({ grpcPort, restPort } satisfies ReadyMessage),
      (error) => {
        console.error(`echo servers failed to start: ${(error as Error).stack}`);
        process.exit(1);
      },
    );
  });
}

/** SIGTERM, then SIGKILL after 3 s; resolves once the child has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function startEchoServers(restResponses: Record<string, string>): Promise<EchoServers> {
  const child = fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`echo servers exited with code ${code} before answering`)));
    child.once('message', (ready: ReadyMessage) =>
      resolve({
        pid: child.pid!,
        grpcTarget: `127.0.0.1:${ready.grpcPort}`,
        restPort: ready.restPort,
        stop: () => stopChild(child),
      }),
    );
    child.send({ restResponses } satisfies StartMessage);
  });
}

if (require.main === module) childMain();
