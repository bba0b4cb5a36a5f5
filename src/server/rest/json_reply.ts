import type { FastifyReply } from 'fastify';

/** Sends JSON text already laid out the way TF-Serving lays it out (no re-serialization). */
export function sendJson(reply: FastifyReply, text: string): FastifyReply {
  return reply.type('application/json').send(text);
}
