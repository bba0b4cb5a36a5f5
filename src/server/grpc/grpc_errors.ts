import type { ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { toServingError } from '../../errors/serving_error';
import { grpcStatusOf } from '../../errors/status_code';
import { boundedStatusMessage } from '../../errors/status_message';

/** Any error thrown by a handler, as the gRPC status TF-Serving would answer with. */
export function toGrpcError(error: unknown): Partial<ServiceError> {
  const serving = toServingError(error);
  return { code: grpcStatusOf(serving.code), details: boundedStatusMessage(serving.message), metadata: new Metadata() };
}
