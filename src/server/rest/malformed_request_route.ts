import type { FastifyPluginAsync } from 'fastify';
import { invalidArgument } from '../../errors/serving_error';
import { unsupportedMethodError } from './http_methods';

/**
 * Any other /v1/ request is answered as TF-Serving does: 400 "Malformed request: GET /v1/...",
 * or 501 for a method its server does not take (TRACE).
 */
export const malformedRequestRoute: FastifyPluginAsync = async (app) => {
  app.all('/v1/*', async (request) => {
    const path = request.url.split('?')[0];
    throw unsupportedMethodError(request.method) ?? invalidArgument(`Malformed request: ${request.method} ${path}`);
  });
};
