/**
 * TF-Serving's request metrics for the REST API (http_server.cc ProcessRequest): every request
 * counted by model and status, a successful one's latency by model and API (the URL's verb:
 * predict, classify, regress; '' for GETs; the /v2 routes give their own), entrypoint REST.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { StatusCodeName } from '../../errors/status_code';
import { recordRequest } from '../../monitoring/request_metrics';

/** The status of each failed request, noted by the error handler (the reply knows only its HTTP status). */
const failures = new WeakMap<FastifyRequest, StatusCodeName>();

export function noteFailedRequest(request: FastifyRequest, status: StatusCodeName): void {
  failures.set(request, status);
}

const VERB = /:(predict|classify|regress)$/;

/** The API label of a TF-Serving REST request: the URL's verb for a POST, '' for a GET. */
function tfServingApi(request: FastifyRequest): string {
  return request.method === 'POST' ? (VERB.exec(request.url.split('?')[0])?.[1] ?? '') : '';
}

/** Records every request of the routes registered on `app` after this, labelled `apiOf(request)`. */
export function recordRestRequests(
  app: FastifyInstance,
  apiOf: (request: FastifyRequest) => string = tfServingApi,
): void {
  app.addHook('onResponse', async (request, reply) => {
    const modelName = (request.params as { name?: string } | undefined)?.name ?? '';
    const api = apiOf(request);
    const status = failures.get(request) ?? 'OK';
    recordRequest(modelName, api, 'REST', status, reply.elapsedTime * 1000);
  });
}
