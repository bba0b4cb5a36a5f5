/**
 * The one place an API takes and releases a ServableHandle (gRPC Predict, Classify, Regress,
 * MultiInference, GetModelMetadata, and the REST routes).
 */
import type { Manager } from '../core/manager';
import type { ServableHandle } from '../core/servable_handle';
import type { ServableRequest } from '../core/servable_request';
import type { InferenceServable } from '../servables/inference_servable';
import { ServingError } from '../errors/serving_error';
import type { ModelQueueBound } from './model_queue_bound';

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
  /**
   * The inference APIs' bound on each model's queued work: the request takes a place once the
   * servable is found (an unknown model stays NOT_FOUND), before `use` decodes anything, and
   * keeps it as long as its handle. Absent: not bounded (GetModelMetadata runs nothing).
   */
  queueBound?: ModelQueueBound;
}

/**
 * Runs `use` on the servable `request` names and releases the handle (and the request's place
 * in its model's queue) once `use` has settled, and only then: a run that outlived the caller's
 * timeout still holds the model, and its place, until it ends.
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
  const bound = options?.queueBound;
  const model = handle.id.name;
  try {
    bound?.admit(model);
  } catch (error) {
    handle.release();
    return Promise.reject(error);
  }
  const release = () => {
    handle.release();
    bound?.release(model);
  };
  let work: Promise<T>;
  try {
    work = use(handle);
  } catch (error) {
    release();
    return Promise.reject(error);
  }
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
