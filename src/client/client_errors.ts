/**
 * A server's error answer as the ServingError the server raised: gRPC's status number and REST's
 * HTTP status both become the canonical code through src/errors/status_code.ts's one catalog.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { ServingError } from '../errors/serving_error';
import { statusCodeOfGrpc, statusCodeOfHttp } from '../errors/status_code';

/** A failed gRPC call: its status, with the server's message. */
export function servingErrorOfGrpc(error: ServiceError): ServingError {
  return new ServingError(statusCodeOfGrpc(error.code), error.details);
}

/** A REST answer with an error status: {"error": message}, or the body as text when it is not that. */
export function servingErrorOfRest(httpStatus: number, body: string): ServingError {
  let message = body;
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // Not JSON (a proxy's page): the text is the message.
  }
  return new ServingError(statusCodeOfHttp(httpStatus), message);
}
