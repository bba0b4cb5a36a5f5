import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Manager } from '../../core/manager';
import { invalidArgument } from '../../errors/serving_error';
import { addHealthService, type HealthService } from './health_service';
import { modelService, modelServiceDefinition, ReloadConfig } from './model_service';
import { predictionService, predictionServiceDefinition } from './prediction_service';

export interface GrpcServerOptions {
  /** TCP port on 0.0.0.0 (0: any free one); omitted: no TCP listener, only socketPath. */
  port?: number;
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
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...options.channelArguments,
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
  const port = options.port === undefined ? 0 : await bind(server, `0.0.0.0:${options.port}`);
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
