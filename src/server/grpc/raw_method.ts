import type { MethodDefinition } from '@grpc/grpc-js';

const identity = (buffer: Buffer) => buffer;

/**
 * A unary method whose messages stay raw bytes: handlers decode only what they need (for
 * Predict, the envelope; tensors are decoded in C++), and encode their own responses.
 */
export function rawUnaryMethod(service: string, method: string): MethodDefinition<Buffer, Buffer> {
  return {
    path: `/${service}/${method}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

/** A bidirectional streaming method whose messages stay raw bytes, as rawUnaryMethod's. */
export function rawBidiStreamingMethod(service: string, method: string): MethodDefinition<Buffer, Buffer> {
  return { ...rawUnaryMethod(service, method), requestStream: true, responseStream: true };
}
