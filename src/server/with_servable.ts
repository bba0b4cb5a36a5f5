/**
 * The one place an API takes and releases a ServableHandle (gRPC Predict, Classify, Regress,
 * MultiInference, GetModelMetadata, and the REST routes).
 */
import type { Manager } from '../core/manager';
import type { ServableHandle } from '../core/servable_handle';
import type { ServableRequest } from '../core/servable_request';
import type { InferenceServable } from '../servables/inference_servable';
import { ServingError } from '../errors/serving_error';

export interface WithServableOptions {
  /**
   * Stop waiting after this long and answer DEADLINE_EXCEEDED (--rest_api_timeout_in_ms). The
   * work goes on, and keeps its handle, until it settles. 0 or absent: no timeout.
   */
  timeoutMs?: number;
  /**
   * TF-Serving's REST order: the body's own errors come before a missing servable's. Runs when
   * the lookup fails; what it throws is reported instead of the lookup's error.
   */
  beforeLookupError?: () => Promise<unknown>;
}

/**
 * Runs `use` on the servable `request` names and releases the handle once `use` has settled,
 * and only then: a run that outlived the caller's timeout still holds the model until it ends.
 */
export function withServable<T>(
  manager: Manager,
  request: ServableRequest,
  use: (handle: ServableHandle<InferenceServable>) => Promise<T>,
  options?: WithServableOptions,
): Promise<T> {
  // Not async: on the hot path this adds one reaction to `work` and no promise of its own.
  let handle: ServableHandle<InferenceServable>;
  try {
    handle = manager.getServableHandle<InferenceServable>(request);
  } catch (error) {
    return lookupFailed(error, options);
  }
  let work: Promise<T>;
  try {
    work = use(handle);
  } catch (error) {
    handle.release();
    return Promise.reject(error);
  }
  const release = () => handle.release();
  work.then(release, release);
  return options?.timeoutMs ? withDeadline(work, options.timeoutMs) : work;
}

async function lookupFailed(error: unknown, options: WithServableOptions | undefined): Promise<never> {
  await options?.beforeLookupError?.();
  throw error;
}

/**
 * `work`, or DEADLINE_EXCEEDED once `timeoutMs` passes first (TF-Serving gives the same
 * deadline to the session run).
 */
async function withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
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
