/**
 * The one place REST failures become responses: {"error": message} (bounded in size, as a
 * gRPC status is) with the HTTP status the catalog (src/errors/status_code.ts) gives the
 * error's canonical code.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { invalidArgument, ServingError, toServingError } from '../../errors/serving_error';
import { httpStatusOf } from '../../errors/status_code';
import { boundedStatusMessage } from '../../errors/status_message';
import { errorJson } from '../../tensors/json_tensors_response';
import { sendJson } from './json_reply';

export function restErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const serving = servingErrorOf(error);
  const status = httpStatusOf(serving.code);
  if (status >= 500) request.log.error({ err: error }, `REST ${request.method} ${request.url} failed`);
  sendJson(reply.code(status), errorJson(boundedStatusMessage(serving.message)));
}

/** Errors fastify raises itself (body too large, schema validation) carry no canonical code. */
function servingErrorOf(error: FastifyError): ServingError {
  if (error instanceof ServingError) return error;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ServingError('RESOURCE_EXHAUSTED', error.message);
  if (error.validation) return invalidArgument(error.message);
  if (typeof error.code === 'string' && error.code.startsWith('FST_') && (error.statusCode ?? 500) < 500) {
    return invalidArgument(error.message);
  }
  return toServingError(error);
}
