/**
 * CORS as TF-Serving's REST server does it, on every /v1/ request this plugin serves:
 * - an OPTIONS request is a preflight, answered without a body whether or not CORS support is
 *   on: 200 when its Origin header holds an http:// or https:// origin, else 400 (TF-Serving's
 *   FAILED_PRECONDITION "Origin header is missing in CORS preflight", which it does not send);
 * - with --rest_api_enable_cors_support, every response (errors and preflights included) gets
 *   the same three fixed headers. @fastify/cors is not used: it writes the -Methods and
 *   -Headers headers on preflights only, and has its own rules for which OPTIONS is one.
 * Paths outside /v1/ (the probes, metrics) get neither, as in TF-Serving.
 */
import type { FastifyInstance } from 'fastify';

export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET',
  'access-control-allow-headers': 'Content-Type',
} as const;

const PREFLIGHT_ORIGIN = /https?:\/\//;
const BAD_REQUEST = 400;

/** Adds the preflight answer, and with `enableCorsSupport` the headers, to `app`'s routes. */
export function serveCors(app: FastifyInstance, enableCorsSupport: boolean): void {
  if (enableCorsSupport) {
    // onSend runs for every reply of these routes, error replies (the drain's 503 too) included.
    app.addHook('onSend', async (_request, reply, payload) => {
      reply.headers(CORS_HEADERS);
      return payload;
    });
  }
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'OPTIONS') return;
    const origin = request.headers.origin ?? '';
    return reply.code(PREFLIGHT_ORIGIN.test(origin) ? 200 : BAD_REQUEST).send();
  });
}
