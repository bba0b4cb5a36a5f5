/**
 * The one place REST failures become responses: {"error": message} (bounded in size, as a
 * gRPC status is) with the HTTP status the catalog (src/errors/status_code.ts) gives the
 * error's canonical code. One exception: a body over the limit is 413 (no canonical code maps
 * there; TF-Serving has no limit to answer).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { invalidArgument, ServingError, toServingError } from '../../errors/serving_error';
import { httpStatusOf } from '../../errors/status_code';
import { boundedStatusMessage } from '../../errors/status_message';
import { errorJson } from './json/json_tensors_response';
import { sendJson } from './json_reply';
import { noteFailedRequest } from './rest_request_metrics';

const PAYLOAD_TOO_LARGE = 413;

/** The error handler of a REST API whose bodies may have at most `bodyLimit` bytes. */
export function restErrorHandler(bodyLimit: number) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const message =
        `Request body is larger than this server's limit of ${bodyLimit} bytes (--duoserve_rest_max_body_bytes); ` +
        'send large tensors over gRPC';
      noteFailedRequest(request, 'RESOURCE_EXHAUSTED');
      // Sent before the rest of the body is read; fastify then closes the connection.
      sendJson(reply.code(PAYLOAD_TOO_LARGE), errorJson(message));
      return;
    }
    const serving = servingErrorOf(error);
    noteFailedRequest(request, serving.code);
    const status = httpStatusOf(serving.code);
    if (status >= 500) request.log.error({ err: error }, `REST ${request.method} ${request.url} failed`);
    sendJson(reply.code(status), errorJson(boundedStatusMessage(serving.message)));
  };
}

/** Errors fastify raises itself (schema validation, a bad content length) carry no canonical code. */
function servingErrorOf(error: FastifyError): ServingError {
  if (error instanceof ServingError) return error;
  if (error.validation) return invalidArgument(error.message);
  if (typeof error.code === 'string' && error.code.startsWith('FST_') && (error.statusCode ?? 500) < 500) {
    return invalidArgument(error.message);
  }
  return toServingError(error);
}
