import type { FastifyInstance } from 'fastify';

/**
 * Largest request body accepted by default (--duoserve_rest_max_body_bytes). TF-Serving sets
 * none; 64 MiB of JSON holds ~8 M float32 values (~8 characters each), a batch of ~50 images
 * of 224x224x3, while reading a body briefly takes ~5x its size in memory: a few such requests
 * at once stay within a modest container. Larger tensors belong on gRPC, 4 bytes a value.
 */
export const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024;

/**
 * TF-Serving reads every body as JSON whatever its Content-Type (`curl -d` sends
 * application/x-www-form-urlencoded, many clients send none), so within the REST routes any
 * body arrives as bytes and the routes parse it with TF-Serving's rules and messages. Bytes,
 * not text: a large body is decoded on a worker thread (predict_json.ts).
 */
export function acceptAnyBodyAsBytes(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
}

/** The body's bytes; empty when there was none. */
export function bodyBytes(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}

/** The body as text; '' when there was none. */
export function bodyText(body: unknown): string {
  return bodyBytes(body).toString('utf8');
}
