/**
 * Kubernetes-style HTTP probes on the REST port, outside TF-Serving's /v1/ paths:
 * - GET /healthz (liveness): 200 "ok" while the process serves HTTP, draining included, so a
 *   pod is not restarted during its grace period;
 * - GET /readyz (readiness): 200 "ok" when the readiness rule (../readiness.ts) holds, else
 *   503 with the reason in one line ("The server is shutting down", "No AVAILABLE version yet
 *   of model(s): a, b").
 * Bodies are text/plain. Both answer while draining (route config `probe`, read by the drain's
 * admission hook) so Kubernetes sees "not ready" rather than a refused request.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Readiness } from '../readiness';

export const LIVENESS_PATH = '/healthz';
export const READINESS_PATH = '/readyz';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A probe route: answered while the server drains. */
    probe?: boolean;
  }
}

const PROBE_ROUTE_CONFIG = { probe: true };

const SERVICE_UNAVAILABLE = 503;

export const probeRoutes: FastifyPluginAsync<{ readiness: Readiness }> = async (app, { readiness }) => {
  const text = 'text/plain; charset=utf-8';
  app.get(LIVENESS_PATH, { config: PROBE_ROUTE_CONFIG }, async (_request, reply) => reply.type(text).send('ok\n'));
  app.get(READINESS_PATH, { config: PROBE_ROUTE_CONFIG }, async (_request, reply) => {
    const notReady = readiness();
    if (notReady === undefined) return reply.type(text).send('ok\n');
    return reply.code(SERVICE_UNAVAILABLE).type(text).send(`${notReady}\n`);
  });
};
