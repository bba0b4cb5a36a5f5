import * as fs from 'node:fs';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ReloadConfigRpcMode } from '../../config/flag_checks';
import type { Manager } from '../../core/manager';
import { invalidArgument } from '../../errors/serving_error';
import { type Drain, SHUTTING_DOWN_MESSAGE } from '../drain';
import { addHealthService, type HealthService } from './health_service';
import { modelService, modelServiceDefinition, ReloadConfig } from './model_service';
import { predictionService, predictionServiceDefinition } from './prediction_service';

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
  /** --duoserve_reload_config_rpc (default 'all', as TF-Serving). */
  reloadConfigRpc?: ReloadConfigRpcMode;
  /** Admits every call but health checks; once it starts draining, calls are UNAVAILABLE. */
  drain?: Drain;
}

// TF-Serving lifts gRPC's 4 MiB message limit to INT32_MAX for both directions.
const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

/** Rejects as TF-Serving fails when gRPC cannot listen (INVALID_ARGUMENT), with the reason. */
function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) =>
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

/** Starts PredictionService and ModelService (and Health) on TCP (and the Unix socket when given). */
export async function startGrpcServer(
  manager: Manager,
  options: GrpcServerOptions,
  reloadConfig?: ReloadConfig,
): Promise<StartedGrpcServer> {
  // Each interceptor wraps every call: add only those with something to do.
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
    }),
  );
  server.addService(modelServiceDefinition, modelService(manager, reloadConfig));
  const health = options.enableHealthCheck ? addHealthService(server) : undefined;
  const port =
    options.port === undefined
      ? 0
      : await bind(server, `${hostPart(options.listenAddress ?? '0.0.0.0')}:${options.port}`);
  if (options.socketPath) {
    removeStaleSocket(options.socketPath);
    await bind(server, `unix:${options.socketPath}`);
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
