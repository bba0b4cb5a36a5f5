import Fastify from 'fastify';
import type { Manager } from '../../core/manager';
import { registerRestRoutes, REST_FASTIFY_OPTIONS } from './index';

export interface RestServerOptions {
  port: number;
  /** --rest_api_timeout_in_ms. */
  timeoutMs: number;
  /** --enable_signature_method_name_check. */
  enableSignatureMethodNameCheck?: boolean;
}

/** Starts TF-Serving's REST API on 0.0.0.0:port. */
export async function startRestServer(manager: Manager, options: RestServerOptions) {
  const app = Fastify({ ...REST_FASTIFY_OPTIONS, logger: false });
  await registerRestRoutes(app, { manager }, {
    timeoutMs: options.timeoutMs,
    enableSignatureMethodNameCheck: options.enableSignatureMethodNameCheck,
  });
  await app.listen({ port: options.port, host: '0.0.0.0' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { port, close: () => app.close() };
}
