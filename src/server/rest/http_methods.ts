/**
 * The HTTP methods TF-Serving's REST server takes. Its libevent server lets through GET, POST,
 * HEAD, PUT, DELETE, OPTIONS and PATCH, and answers any other (CONNECT, TRACE, ...) with 501
 * Not Implemented; so does this, with the REST API's {"error": ...} body.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ServingError, unimplemented } from '../../errors/serving_error';
import { httpStatusOf } from '../../errors/status_code';
import { errorJson } from './json/json_tensors_response';

export const TF_SERVING_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'POST',
  'HEAD',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
]);

/** The error for a method TF-Serving does not take; undefined for one it takes. */
export function unsupportedMethodError(method: string): ServingError | undefined {
  return TF_SERVING_METHODS.has(method) ? undefined : unimplemented(`HTTP method ${method} is not supported`);
}

/**
 * CONNECT never reaches fastify: Node's HTTP server hands it to a 'connect' listener and, with
 * none, closes the connection without a reply. This answers it, then closes the connection (it
 * was never an HTTP exchange to keep).
 */
export function answerConnectRequests(server: Server): void {
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    const error = unsupportedMethodError(request.method ?? 'CONNECT')!;
    const body = Buffer.from(errorJson(error.message), 'utf8');
    socket.on('error', () => socket.destroy());
    socket.write(
      `HTTP/1.1 ${httpStatusOf(error.code)} Not Implemented\r\n` +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\n` +
        'Connection: close\r\n\r\n',
    );
    socket.end(body);
  });
}
