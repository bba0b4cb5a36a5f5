import { ServingError } from '../../errors/serving_error';

/**
 * `work`, or DEADLINE_EXCEEDED once `timeoutMs` passes first (--rest_api_timeout_in_ms;
 * TF-Serving gives the same deadline to the session run). The work itself goes on: the
 * caller keeps its servable handle until `work` settles. 0 or undefined: no deadline.
 */
export async function withDeadline<T>(work: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (!timeoutMs || timeoutMs <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ServingError('DEADLINE_EXCEEDED', `Deadline exceeded: the model did not answer within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
