/**
 * TF-Serving's Prometheus page (http_server.cc, prometheus_exporter.cc): metricsRegistry in
 * Prometheus text format at exactly the configured path, on every method its server takes,
 * with Content-Type text/plain and any body ignored; the process's own figures with them.
 */
import type { FastifyPluginAsync } from 'fastify';
import { collectProcessMetrics, metricsRegistry } from '../../monitoring/registry';
import { TF_SERVING_METHODS } from './http_methods';
import { acceptAnyBodyAsBytes } from './request_body';

export interface PrometheusRouteOptions {
  path: string;
  bodyLimit: number;
}

export const prometheusRoute: FastifyPluginAsync<PrometheusRouteOptions> = async (app, options) => {
  // TF-Serving registers such a path too, and no request path (always '/...') ever matches it.
  if (!options.path.startsWith('/')) return;
  collectProcessMetrics();
  acceptAnyBodyAsBytes(app, options.bodyLimit);
  app.route({
    // HEAD comes with GET (fastify's exposeHeadRoutes).
    method: [...TF_SERVING_METHODS].filter((method) => method !== 'HEAD'),
    url: options.path,
    handler: async (_request, reply) => {
      const page = await metricsRegistry.metrics();
      return reply.header('content-type', 'text/plain').send(page);
    },
  });
};
