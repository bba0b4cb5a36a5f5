/**
 * HTTP CONNECT never reaches fastify: Node's HTTP server hands it to a 'connect' listener and,
 * with none, closes the connection without a reply. TF-Serving's server (libevent, whose
 * allowed methods leave CONNECT out) answers 501 Not Implemented; so does this, with the REST
 * API's {"error": ...} body, then closes the connection (it was never an HTTP exchange to keep).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { unimplemented } from '../../errors/serving_error';
import { httpStatusOf } from '../../errors/status_code';
import { errorJson } from '../../tensors/json_tensors_response';

export function answerConnectRequests(server: Server): void {
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    const error = unimplemented(`HTTP method ${request.method} is not supported`);
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
