import type { OpenInference } from '../open_inference/open_inference';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Manager } from '../../core/manager';
import { ServingError } from '../../errors/serving_error';
import { type Drain, SHUTTING_DOWN_MESSAGE } from '../drain';
import type { ModelQueueBound } from '../model_queue_bound';
import type { Readiness } from '../readiness';
import { secureContextOptions, type SslConfig } from '../ssl_config';
import type { ServerRequestLogger } from '../../request_logging/server_request_logger';
import { DEFAULT_BODY_LIMIT, registerRestRoutes, REST_FASTIFY_OPTIONS } from './index';
import { probeRoutes } from './probe_routes';
import { prometheusRoute } from './prometheus_route';
import { openInferenceRestApi } from './v2';

export interface RestServerOptions {
  port: number;
  /** --duoserve_rest_listen_address (default 0.0.0.0, as TF-Serving). */
  listenAddress?: string;
  /** --rest_api_timeout_in_ms. */
  timeoutMs: number;
  /** --enable_signature_method_name_check. */
  enableSignatureMethodNameCheck?: boolean;
  /** --duoserve_rest_max_body_bytes (default DEFAULT_BODY_LIMIT). */
  bodyLimit?: number;
  /** --rest_api_enable_cors_support. */
  enableCorsSupport?: boolean;
  /** Where to serve the Prometheus page (--monitoring_config_file); undefined: nowhere. */
  prometheusPath?: string;
  /** Admits every request; once it starts draining, requests are answered 503 (not the probes). */
  drain?: Drain;
  /** Serves the liveness and readiness probes (probe_routes.ts) by this rule. */
  readiness?: Readiness;
  /** --duoserve_rest_api_ssl: HTTPS with --ssl_config_file's key and certificate (probes too). */
  ssl?: SslConfig;
  /** --duoserve_max_queued_requests_per_model, shared with the gRPC API. */
  queueBound?: ModelQueueBound;
  /** Each model's request logger (ServerCore's): logging_config. */
  requestLogger?: ServerRequestLogger;
  /** Serves the Open Inference Protocol's /v2 routes on the same port. */
  openInference?: OpenInference;
}

/** Starts TF-Serving's REST API on listenAddress:port. */
export async function startRestServer(manager: Manager, options: RestServerOptions) {
  // close() ends every connection, idle or not: it runs once the drain has let requests finish.
  const base = { ...REST_FASTIFY_OPTIONS, logger: false, forceCloseConnections: true } as const;
  // The routes take no notice of the transport: an HTTPS instance is typed as the HTTP one they expect.
  const app = options.ssl
    ? (Fastify({ ...base, https: secureContextOptions(options.ssl) }) as unknown as FastifyInstance)
    : Fastify(base);
  const drain = options.drain;
  if (drain) {
    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config.probe) return; // probes answer while draining
      const finish = drain.admit();
      if (!finish) {
        reply.header('connection', 'close'); // keep-alive clients move to another replica
        throw new ServingError('UNAVAILABLE', SHUTTING_DOWN_MESSAGE);
      }
      reply.raw.once('close', finish); // sent, failed or abandoned by the client: over either way
    });
  }
  if (options.readiness) await app.register(probeRoutes, { readiness: options.readiness });
  await registerRestRoutes(
    app,
    { manager },
    {
      timeoutMs: options.timeoutMs,
      enableSignatureMethodNameCheck: options.enableSignatureMethodNameCheck,
      bodyLimit: options.bodyLimit,
      enableCorsSupport: options.enableCorsSupport,
      queueBound: options.queueBound,
      requestLogger: options.requestLogger,
    },
  );
  if (options.openInference) {
    await app.register(openInferenceRestApi, {
      openInference: options.openInference,
      bodyLimit: options.bodyLimit,
      timeoutMs: options.timeoutMs,
    });
  }
  if (options.prometheusPath !== undefined) {
    await app.register(prometheusRoute, {
      path: options.prometheusPath,
      bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    });
  }
  await app.listen({ port: options.port, host: options.listenAddress ?? '0.0.0.0' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { port, close: () => app.close() };
}
