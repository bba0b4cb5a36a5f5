/**
 * TF-Serving's REST API as one encapsulated fastify plugin: model status, model metadata,
 * predict, classify and regress, with TF-Serving's bodies, messages and status codes. Inside
 * it every body is read as text (request_body.ts) and every error becomes {"error": ...}
 * (rest_errors.ts); routes registered elsewhere on the same fastify instance are unaffected.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Manager } from '../../core/manager';
import { classifyRegressRoute } from './classify_regress_route';
import { serveCors } from './cors';
import { answerConnectRequests } from './http_methods';
import { malformedRequestRoute } from './malformed_request_route';
import { modelMetadataRoute } from './model_metadata_route';
import { modelStatusRoute } from './model_status_route';
import { predictRoute } from './predict_route';
import { acceptAnyBodyAsBytes, DEFAULT_BODY_LIMIT } from './request_body';
import { restErrorHandler } from './rest_errors';
import { recordRestRequests } from './rest_request_metrics';
import type { RestRouteDeps } from './route_deps';

export interface RestApiOptions extends RestRouteDeps {
  /** Largest request body in bytes (default DEFAULT_BODY_LIMIT). */
  bodyLimit?: number;
  /** --rest_api_enable_cors_support. */
  enableCorsSupport?: boolean;
}

export const restApi: FastifyPluginAsync<RestApiOptions> = async (app, options) => {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  acceptAnyBodyAsBytes(app, bodyLimit);
  app.setErrorHandler(restErrorHandler(bodyLimit));
  recordRestRequests(app);
  answerConnectRequests(app.server);
  serveCors(app, options.enableCorsSupport ?? false);
  const deps: RestRouteDeps = {
    manager: options.manager,
    timeoutMs: options.timeoutMs,
    enableSignatureMethodNameCheck: options.enableSignatureMethodNameCheck,
    queueBound: options.queueBound,
    requestLogger: options.requestLogger,
  };
  await app.register(modelStatusRoute, deps);
  await app.register(modelMetadataRoute, deps);
  await app.register(predictRoute, deps);
  await app.register(classifyRegressRoute, deps);
  await app.register(malformedRequestRoute);
};

/**
 * Options for the fastify instance that serves this API: TF-Serving accepts model names and
 * labels of any length, fastify's router stops matching parameters past 100 characters.
 */
export const REST_FASTIFY_OPTIONS = { routerOptions: { maxParamLength: 1024 } } as const;

/** Registers the REST API on `app`; await it (or app.ready()) before listening. */
export function registerRestRoutes(
  app: FastifyInstance,
  deps: { manager: Manager },
  options: Omit<RestApiOptions, 'manager'> = {},
) {
  return app.register(restApi, { ...options, manager: deps.manager });
}

export { DEFAULT_BODY_LIMIT } from './request_body';
