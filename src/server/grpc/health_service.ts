/**
 * grpc.health.v1.Health (--enable_grpc_healthcheck_service), served by gRPC's own Node
 * implementation (npm grpc-health-check): Check, Watch and List.
 *
 * TF-Serving enables gRPC C++'s default health service, which knows one status: the server
 * as a whole (service name ""), SERVING from the moment the server starts. TF-Serving starts
 * its gRPC server only after the configured models' first load, and so does duoserve's main,
 * so SERVING here means what it means there. Other service names are unknown, as in TF-Serving:
 * Check answers NOT_FOUND and Watch answers SERVICE_UNKNOWN.
 *
 * Given the readiness rule (../readiness.ts), the overall status follows it as the HTTP
 * readiness probe does: NOT_SERVING while a configured model has no AVAILABLE version (a model
 * added by a config reload and still loading) or while draining. TF-Serving stays SERVING then.
 */
import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Readiness } from '../readiness';

/** The service name that stands for the whole server in the health checking protocol. */
export const OVERALL_HEALTH = '';

export interface HealthService {
  /** Reads the readiness rule again (call it when model states or the config change). */
  refresh(): void;
  /** NOT_SERVING from now on, as gRPC C++ reports while its server shuts down; Watch streams see it. */
  enterShutdown(): void;
}

type ServingStatus = 'SERVING' | 'NOT_SERVING';

export function addHealthService(server: grpc.Server, readiness?: Readiness): HealthService {
  const statusNow = (): ServingStatus => (readiness?.() === undefined ? 'SERVING' : 'NOT_SERVING');
  let status = statusNow();
  let shutDown = false;
  const health = new HealthImplementation({ [OVERALL_HEALTH]: status });
  health.addToServer(server);
  // Watch streams get a message on each change only, as the protocol asks.
  const set = (next: ServingStatus) => {
    if (next === status) return;
    status = next;
    health.setStatus(OVERALL_HEALTH, next);
  };
  return {
    refresh: () => {
      if (!shutDown) set(statusNow());
    },
    enterShutdown: () => {
      shutDown = true;
      set('NOT_SERVING');
    },
  };
}
