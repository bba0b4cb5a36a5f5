import { type handleUnaryCall, Metadata } from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { ServingError } from '../../errors/serving_error';
import { toGrpcError } from './grpc_errors';

/**
 * Adapts an async bytes-in/bytes-out handler to grpc-js; every error becomes a status. What the
 * handler adds to `trailer` goes back as trailing metadata of a successful call.
 */
export function unaryHandler(
  handle: (request: Buffer, metadata: Metadata, trailer: Metadata) => Promise<Uint8Array>,
): handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    const trailer = new Metadata();
    handle(call.request, call.metadata, trailer).then(
      (response) => callback(null, Buffer.from(response.buffer, response.byteOffset, response.byteLength), trailer),
      (error) => callback(toGrpcError(error)),
    );
  };
}

/** Decodes request bytes; unparseable bytes get INTERNAL, as a C++ gRPC server answers them. */
export function decodeRequest<T>(type: protobuf.Type, bytes: Buffer): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (error) {
    throw new ServingError('INTERNAL', `Failed to parse ${type.fullName.slice(1)}: ${(error as Error).message}`);
  }
}
