import type { OpenInference } from '../open_inference/open_inference';
import * as fs from 'node:fs';
import type * as http2 from 'node:http2';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ReloadConfigRpcMode } from '../../config/flag_checks';
import type { Manager } from '../../core/manager';
import { invalidArgument } from '../../errors/serving_error';
import { type Drain, SHUTTING_DOWN_MESSAGE } from '../drain';
import type { SslConfig } from '../ssl_config';
import type { ModelQueueBound } from '../model_queue_bound';
import { addHealthService, type HealthService } from './health_service';
import { inferenceService, inferenceServiceDefinition } from './inference_service';
import { modelService, modelServiceDefinition, ReloadConfig } from './model_service';
import { predictionService, predictionServiceDefinition } from './prediction_service';
import type { ServerRequestLogger } from '../../request_logging/server_request_logger';

export interface GrpcServerOptions {
  /** TCP port on listenAddress (0: any free one); omitted: no TCP listener, only socketPath. */
  port?: number;
  /** --duoserve_grpc_listen_address: an IP address or host name (default 0.0.0.0, as TF-Serving). */
  listenAddress?: string;
  /** A Unix socket path (checked for length by checkServerFlags). */
  socketPath?: string;
  /** --grpc_channel_arguments, e.g. {'grpc.max_concurrent_streams': 100}. */
  channelArguments: Record<string, string | number>;
  /** --enable_grpc_healthcheck_service: also serve grpc.health.v1.Health. */
  enableHealthCheck?: boolean;
  /** --enable_signature_method_name_check, for Classify/Regress/MultiInference. */
  enableSignatureMethodNameCheck?: boolean;
  /** --enable_serialization_as_tensor_content: Predict outputs as tensor_content. */
  serializeAsTensorContent?: boolean;
  /** Each model's request logger (ServerCore's): logging_config. */
  requestLogger?: ServerRequestLogger;
  /** --duoserve_reload_config_rpc (default 'all', as TF-Serving). */
  reloadConfigRpc?: ReloadConfigRpcMode;
  /** Admits every call but health checks; once it starts draining, calls are UNAVAILABLE. */
  drain?: Drain;
  /** --ssl_config_file: both listeners, TCP and the Unix socket, serve TLS (as TF-Serving's do). */
  ssl?: SslConfig;
  /** --duoserve_max_queued_requests_per_model, shared with the REST API. */
  queueBound?: ModelQueueBound;
  /** Serves inference.GRPCInferenceService (the Open Inference Protocol) on the same listeners. */
  openInference?: OpenInference;
}

// TF-Serving lifts gRPC's 4 MiB message limit to INT32_MAX for both directions.
const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

/**
 * The HTTP/2 receive windows, each stream's and the connection's, in bytes: grpc-js's own
 * argument for them, which its client reads and its server does not, so duoserve applies it.
 * Node's 64 KiB windows make a client with several ~16 KB calls in flight stop and wait for
 * the server's WINDOW_UPDATE frames, so the server wakes about four times as often per call:
 * 8 MiB cut the bare echo's JS-thread CPU per call by a fifth to a third at 16 and 64 calls in
 * flight over one connection (bench/grpc_ceiling.ts). A request body is read whole in any
 * case, so wider windows hold no more than the message limit already allows.
 */
export const FLOW_CONTROL_WINDOW_ARGUMENT = 'grpc-node.flow_control_window';
export const DEFAULT_FLOW_CONTROL_WINDOW = 8 * 1024 * 1024;
// HTTP/2's largest window (RFC 9113 6.9.1); below 64 KiB would only throttle clients.
const WINDOW_RANGE = { min: 65_535, max: 2 ** 31 - 1 };

function flowControlWindow(channelArguments: Record<string, string | number>): number {
  const value = channelArguments[FLOW_CONTROL_WINDOW_ARGUMENT] ?? DEFAULT_FLOW_CONTROL_WINDOW;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < WINDOW_RANGE.min || value > WINDOW_RANGE.max) {
    throw invalidArgument(
      `--grpc_channel_arguments: ${FLOW_CONTROL_WINDOW_ARGUMENT} must be a whole number of bytes from ` +
        `${WINDOW_RANGE.min} to ${WINDOW_RANGE.max}, got ${String(value).slice(0, 40)}`,
    );
  }
  return value;
}

/**
 * Gives every session of the server's listeners `bytes` of receive window. grpc-js makes one
 * node:http2 server per bind and exposes neither them nor their settings: they are reached
 * through its private `http2Servers` map (test/server/grpc/flow_control_window.test.ts checks
 * the windows a client sees, so an upgrade that moves the map fails there). Called right after
 * each bind, before the event loop can accept a connection on it.
 */
export function widenFlowControlWindows(
  server: grpc.Server,
  bytes: number,
  widened = new WeakSet<http2.Http2Server>(),
): void {
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(listeners instanceof Map)) throw new Error('grpc-js keeps no http2Servers map: cannot set its HTTP/2 windows');
  for (const listener of (listeners as Map<http2.Http2Server, unknown>).keys()) {
    if (widened.has(listener)) continue;
    widened.add(listener);
    listener.updateSettings({ initialWindowSize: bytes });
    listener.on('session', (session) => session.setLocalWindowSize(bytes));
  }
}

/**
 * TF-Serving's BuildServerCredentials: insecure without an SSLConfig; else its key and chain,
 * and with client_verify a client certificate is required and must chain to custom_ca.
 */
export function serverCredentials(ssl: SslConfig | undefined): grpc.ServerCredentials {
  if (!ssl) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    ssl.customCa === '' ? null : Buffer.from(ssl.customCa),
    [{ private_key: Buffer.from(ssl.serverKey), cert_chain: Buffer.from(ssl.serverCert) }],
    ssl.clientVerify,
  );
}

/** Rejects as TF-Serving fails when gRPC cannot listen (INVALID_ARGUMENT), with the reason. */
function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, credentials, (error, port) =>
      error
        ? reject(invalidArgument(`Failed to BuildAndStart gRPC server: cannot listen on ${address}: ${error.message}`))
        : resolve(port),
    ),
  );
}

export interface StartedGrpcServer {
  server: grpc.Server;
  /** The TCP port bound; 0 when serving on the Unix socket alone. */
  port: number;
  /** Present when options.enableHealthCheck. */
  health?: HealthService;
}

/**
 * Starts PredictionService and ModelService (and Health, and the Open Inference Protocol's
 * GRPCInferenceService) on TCP (and the Unix socket when given).
 */
export async function startGrpcServer(
  manager: Manager,
  options: GrpcServerOptions,
  reloadConfig?: ReloadConfig,
): Promise<StartedGrpcServer> {
  // Each interceptor wraps every call: add only those with something to do.
  const window = flowControlWindow(options.channelArguments);
  const reloadConfigRpc = options.reloadConfigRpc ?? 'all';
  const interceptors: grpc.ServerInterceptor[] = [];
  if (reloadConfigRpc !== 'all') interceptors.push(reloadConfigGuard(reloadConfigRpc));
  if (options.drain) interceptors.push(drainGate(options.drain));
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...options.channelArguments,
    interceptors,
  });
  server.addService(
    predictionServiceDefinition,
    predictionService(manager, {
      enableSignatureMethodNameCheck: options.enableSignatureMethodNameCheck,
      serializeAsTensorContent: options.serializeAsTensorContent,
      queueBound: options.queueBound,
      requestLogger: options.requestLogger,
    }),
  );
  server.addService(modelServiceDefinition, modelService(manager, reloadConfig));
  if (options.openInference) server.addService(inferenceServiceDefinition, inferenceService(options.openInference));
  const health = options.enableHealthCheck ? addHealthService(server) : undefined;
  const widened = new WeakSet<http2.Http2Server>();
  const credentials = serverCredentials(options.ssl);
  const port =
    options.port === undefined
      ? 0
      : await bind(server, `${hostPart(options.listenAddress ?? '0.0.0.0')}:${options.port}`, credentials);
  widenFlowControlWindows(server, window, widened);
  if (options.socketPath) {
    removeStaleSocket(options.socketPath);
    await bind(server, `unix:${options.socketPath}`, credentials);
    widenFlowControlWindows(server, window, widened);
  }
  return { server, port, health };
}

/**
 * A server that was killed leaves its socket file behind, and binding over it fails: remove it
 * first, as gRPC's own Unix listener does (TF-Serving re-binds after a crash). Only a socket:
 * anything else at that path is the operator's file, and binding then fails and says so.
 */
function removeStaleSocket(socketPath: string): void {
  let stats: fs.Stats;
  try {
    stats = fs.lstatSync(socketPath);
  } catch {
    return; // nothing there
  }
  if (stats.isSocket()) fs.rmSync(socketPath);
}

/** An IPv6 literal goes in brackets before its port. */
export function hostPart(address: string): string {
  return net.isIPv6(address) ? `[${address}]` : address;
}

const HEALTH_SERVICE_PREFIX = '/grpc.health.v1.Health/';
const RELOAD_CONFIG_METHOD = '/tensorflow.serving.ModelService/HandleReloadConfigRequest';

/** Refuses a call before its message is read. */
function refuseCall(
  call: grpc.ServerInterceptingCallInterface,
  refusal: () => grpc.StatusObject | undefined,
): grpc.ServerInterceptingCall {
  return new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: (metadata, passOn) => {
          const status = refusal();
          if (status) call.sendStatus(status);
          else passOn(metadata);
        },
      }),
  });
}

/**
 * --duoserve_reload_config_rpc: HandleReloadConfigRequest replaces (or empties) the served
 * models, and TF-Serving accepts it from anyone who reaches the port. socket_only accepts it
 * only over the Unix socket (whose file permissions say who may connect); off nowhere.
 */
function reloadConfigGuard(mode: Exclude<ReloadConfigRpcMode, 'all'>): grpc.ServerInterceptor {
  return (method, call) => {
    if (method.path !== RELOAD_CONFIG_METHOD) return new grpc.ServerInterceptingCall(call);
    return refuseCall(call, () => {
      // A Unix socket connection has no remote address; a TCP one always has.
      const overTcp = call.getConnectionInfo().remoteAddress !== undefined;
      if (mode === 'socket_only' && !overTcp) return undefined;
      const where = mode === 'off' ? 'on this server' : 'over TCP (only over --grpc_socket_path)';
      return {
        code: grpc.status.PERMISSION_DENIED,
        details: `HandleReloadConfigRequest is not accepted ${where}: --duoserve_reload_config_rpc=${mode}`,
        metadata: new grpc.Metadata(),
      };
    });
  };
}

/** Counts each call in the drain until its status is sent (or it is cancelled); health checks pass freely. */
function drainGate(drain: Drain): grpc.ServerInterceptor {
  return (method, call) => {
    if (method.path.startsWith(HEALTH_SERVICE_PREFIX)) return new grpc.ServerInterceptingCall(call);
    let finish: (() => void) | undefined;
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, passOn) => {
            finish = drain.admit();
            if (finish) passOn(metadata);
            else call.sendStatus({ code: grpc.status.UNAVAILABLE, details: SHUTTING_DOWN_MESSAGE });
          },
          onCancel: () => finish?.(),
        }),
      sendStatus: (status, passOn) => {
        passOn(status);
        finish?.();
      },
    });
  };
}
