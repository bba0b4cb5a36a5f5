import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Manager } from '../../core/manager';
import { addHealthService, type HealthService } from './health_service';
import { modelService, modelServiceDefinition, ReloadConfig } from './model_service';
import { predictionService, predictionServiceDefinition } from './prediction_service';

export interface GrpcServerOptions {
  port: number;
  socketPath?: string;
  /** --grpc_channel_arguments, e.g. {'grpc.max_concurrent_streams': 100}. */
  channelArguments: Record<string, string | number>;
  /** --enable_grpc_healthcheck_service: also serve grpc.health.v1.Health. */
  enableHealthCheck?: boolean;
  /** --enable_signature_method_name_check, for Classify/Regress/MultiInference. */
  enableSignatureMethodNameCheck?: boolean;
}

// TF-Serving lifts gRPC's 4 MiB message limit to INT32_MAX for both directions.
const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(new Error(`cannot listen on ${address}: ${error.message}`)) : resolve(port),
    ),
  );
}

export interface StartedGrpcServer {
  server: grpc.Server;
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
    predictionService(manager, { enableSignatureMethodNameCheck: options.enableSignatureMethodNameCheck }),
  );
  server.addService(modelServiceDefinition, modelService(manager, reloadConfig));
  const health = options.enableHealthCheck ? addHealthService(server) : undefined;
  const port = await bind(server, `0.0.0.0:${options.port}`);
  if (options.socketPath) {
    fs.rmSync(options.socketPath, { force: true }); // a socket file left by an earlier run
    await bind(server, `unix:${options.socketPath}`);
  }
  return { server, port, health };
}
