import type { FastifyPluginAsync } from 'fastify';
import { invalidArgument } from '../../errors/serving_error';

/** Any other /v1/ request is answered as TF-Serving does: 400 "Malformed request: GET /v1/...". */
export const malformedRequestRoute: FastifyPluginAsync = async (app) => {
  app.all('/v1/*', async (request) => {
    const path = request.url.split('?')[0];
    throw invalidArgument(`Malformed request: ${request.method} ${path}`);
  });
};
