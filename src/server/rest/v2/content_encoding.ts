/**
 * Request bodies sent with Content-Encoding gzip or deflate (zlib), as Triton's HTTP server takes
 * them (tritonclient.http's request_compression_algorithm): inflated as they arrive, the body
 * limit counting the inflated bytes (so a small bomb is refused as a large body is). Another
 * encoding, or bytes that do not inflate, is a 400.
 */
import { PassThrough, type Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { invalidArgument } from '../../../errors/serving_error';
import { quoted } from './infer_request_body';

const INFLATERS: Record<string, () => zlib.Gunzip | zlib.Inflate> = {
  gzip: () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
};

/** Inflates the compressed request bodies of `app`'s routes. */
export function inflateCompressedBodies(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding === undefined || encoding === '' || encoding === 'identity') return payload;
    const inflater = INFLATERS[encoding];
    if (!inflater) {
      throw invalidArgument(
        `Content-Encoding ${quoted(encoding)} is not supported; send the body as is, gzip or deflate`,
      );
    }
    return inflated(payload, inflater(), encoding);
  });
}

/**
 * `payload` through `inflate`, counting the bytes received (fastify compares them with
 * Content-Length as receivedEncodedLength), a failure to inflate as a 400.
 */
function inflated(payload: Readable, inflate: zlib.Gunzip | zlib.Inflate, encoding: string): Readable {
  const out = Object.assign(new PassThrough(), { receivedEncodedLength: 0 });
  payload.on('data', (chunk: Buffer) => (out.receivedEncodedLength += chunk.length));
  inflate.on('error', () => out.destroy(invalidArgument(`The request body is not valid ${encoding} data`)));
  payload.on('error', (error) => out.destroy(error));
  payload.pipe(inflate).pipe(out);
  return out;
}
