/**
 * grpc.health.v1.Health (--enable_grpc_healthcheck_service), served by gRPC's own Node
 * implementation (npm grpc-health-check): Check, Watch and List.
 *
 * TF-Serving enables gRPC C++'s default health service, which knows one status: the server
 * as a whole (service name ""), SERVING from the moment the server starts. TF-Serving starts
 * its gRPC server only after the configured models' first load, and so does duoserve's main,
 * so SERVING here means what it means there. Other service names are unknown, as in TF-Serving:
 * Check answers NOT_FOUND and Watch answers SERVICE_UNKNOWN.
 */
import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';

/** The service name that stands for the whole server in the health checking protocol. */
export const OVERALL_HEALTH = '';

export interface HealthService {
  /** NOT_SERVING from now on, as gRPC C++ reports while its server shuts down; Watch streams see it. */
  enterShutdown(): void;
}

export function addHealthService(server: grpc.Server): HealthService {
  const health = new HealthImplementation({ [OVERALL_HEALTH]: 'SERVING' });
  health.addToServer(server);
  return { enterShutdown: () => health.setStatus(OVERALL_HEALTH, 'NOT_SERVING') };
}
