import type { FastifyReply } from 'fastify';
import type { CancelFlag } from '../../native/backend_addon';
import { cancelRuns, newCancelFlag } from '../../servables/run_deadline';

/**
 * A REST request's cancel flag (RunRequest.cancelled), set when its client closes the
 * connection before the answer is written: a run still queued then never starts, as a gRPC
 * call's cancelled by its client. TF-Serving's REST server runs such a request anyway.
 */
export function cancelledOnClose(reply: FastifyReply): CancelFlag {
  const cancelled = newCancelFlag();
  const response = reply.raw;
  // 'close' comes after the answer too; only one closed before it was written is a cancel.
  response.once('close', () => {
    if (!response.writableFinished) cancelRuns(cancelled);
  });
  return cancelled;
}
