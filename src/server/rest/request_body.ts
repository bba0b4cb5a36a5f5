import type { FastifyInstance } from 'fastify';

/** Largest request body accepted by default: image batches in JSON get big. */
export const DEFAULT_BODY_LIMIT = 256 * 1024 * 1024;

/**
 * TF-Serving reads every body as JSON whatever its Content-Type (`curl -d` sends
 * application/x-www-form-urlencoded, many clients send none), so within the REST routes any
 * body arrives as text and the routes parse it with TF-Serving's rules and messages.
 */
export function acceptAnyBodyAsText(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, body));
}

/** The body as text; '' when there was none. */
export function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : '';
}
