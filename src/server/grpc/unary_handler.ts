import type { handleUnaryCall, Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { ServingError, toServingError } from '../../errors/serving_error';
import type { StatusCodeName } from '../../errors/status_code';
import { recordRequest } from '../../monitoring/request_metrics';
import type { CancelFlag } from '../../native/backend_addon';
import { cancelRuns, monotonicMicros, newCancelFlag } from '../../servables/run_deadline';
import { toGrpcError } from './grpc_errors';

/** What a handler gets besides the request bytes. */
export interface UnaryCall {
  metadata: Metadata;
  /** The call's deadline on the native run's clock (RunRequest.deadlineUs); absent: none. */
  deadlineUs?: number;
  /** Set when the client cancels the call (RunRequest.cancelled). */
  cancelled: CancelFlag;
  /** Trailing metadata of a successful call, when the handler has some. */
  trailer?: Metadata;
  /** The model the request names, set by the handler once decoded: its request_count label. */
  modelName?: string;
}

/**
 * Adapts an async bytes-in/bytes-out handler to grpc-js; every error becomes a status. A call
 * already cancelled, or past its deadline, is answered CANCELLED or DEADLINE_EXCEEDED without
 * running anything, as a C++ gRPC server answers it; the deadline and the cancellation go on
 * with the call, so that a run still queued when either comes is not started either.
 *
 * With `api` (TF-Serving's API label: Predict, Classify, Regress) every call the handler takes
 * that decodes (the handler sets its modelName) is recorded in TF-Serving's request metrics; one
 * refused before it (as C++ gRPC would) or whose bytes are no request (C++ gRPC's parser) is not.
 */
export function unaryHandler(
  handle: (request: Buffer, call: UnaryCall) => Promise<Uint8Array>,
  api?: string,
): handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    let context: UnaryCall;
    try {
      const cancelled = newCancelFlag();
      call.once('cancelled', () => cancelRuns(cancelled));
      context = { metadata: call.metadata, deadlineUs: deadlineOf(call), cancelled };
    } catch (error) {
      return callback(toGrpcError(error));
    }
    const start = performance.now();
    const record = (status: StatusCodeName) => {
      // A request that did not decode never reaches TF-Serving's handler either: it has no modelName.
      if (api && context.modelName !== undefined) {
        recordRequest(context.modelName, api, 'GRPC', status, (performance.now() - start) * 1000);
      }
    };
    handle(call.request, context).then(
      (response) => {
        record('OK');
        callback(null, Buffer.from(response.buffer, response.byteOffset, response.byteLength), context.trailer);
      },
      (error) => {
        const serving = toServingError(error);
        record(serving.code);
        callback(toGrpcError(serving));
      },
    );
  };
}

/** The call's deadline as RunRequest.deadlineUs; throws CANCELLED or DEADLINE_EXCEEDED when it is already over. */
export function deadlineOf(
  call: Pick<ServerUnaryCall<unknown, unknown>, 'cancelled' | 'getDeadline'>,
): number | undefined {
  if (call.cancelled) throw new ServingError('CANCELLED', 'Cancelled');
  const deadline = call.getDeadline();
  if (deadline === Infinity) return undefined;
  const left = +deadline - Date.now();
  if (left <= 0) throw new ServingError('DEADLINE_EXCEEDED', 'Deadline Exceeded');
  return monotonicMicros() + left * 1000;
}

/** Decodes request bytes; unparseable bytes get INTERNAL, as a C++ gRPC server answers them. */
export function decodeRequest<T>(type: protobuf.Type, bytes: Buffer): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (error) {
    throw new ServingError('INTERNAL', `Failed to parse ${type.fullName.slice(1)}: ${(error as Error).message}`);
  }
}
