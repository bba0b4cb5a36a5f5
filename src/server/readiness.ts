/**
 * The one readiness rule, read by the HTTP readiness probe (rest/probe_routes.ts): the server
 * takes requests when it is not draining and every configured model has an AVAILABLE version.
 * grpc.health.v1 keeps TF-Serving's meaning instead (SERVING from start-up until shutdown), so
 * that a balancer health-checking every replica does not pull them all while one model loads.
 */
import type { Manager } from '../core/manager';
import type { Drain } from './drain';

export interface ReadinessInputs {
  /** The names of the models in the config in force (they change with a config reload). */
  configuredModels(): readonly string[];
  manager: Manager;
  drain?: Drain;
}

/** Why the server is not ready, in one line; undefined when it is ready. */
export type Readiness = () => string | undefined;

export function readinessOf({ configuredModels, manager, drain }: ReadinessInputs): Readiness {
  return () => {
    if (drain?.started) return 'The server is shutting down';
    const waiting = configuredModels().filter(
      (name) => !manager.getVersionStates(name).some((snapshot) => snapshot.state === 'AVAILABLE'),
    );
    if (waiting.length === 0) return undefined;
    return `No AVAILABLE version yet of model(s): ${waiting.join(', ')}`;
  };
}
