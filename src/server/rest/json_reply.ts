import type { FastifyReply } from 'fastify';

/**
 * Sends JSON text already laid out the way TF-Serving lays it out, as bytes: fastify neither
 * re-serializes them nor appends "; charset=utf-8" to TF-Serving's "application/json".
 */
export function sendJson(reply: FastifyReply, json: string | Buffer): FastifyReply {
  return reply
    .header('content-type', 'application/json')
    .send(Buffer.isBuffer(json) ? json : Buffer.from(json, 'utf8'));
}
