/**
 * The bound on each model's queued work (--duoserve_max_queued_requests_per_model): how many
 * inference requests naming one model may be in flight at once, from the moment withServable
 * admits them until their work settles (waiting for a libuv pool thread or a batch, or running).
 * Beyond it a request is answered UNAVAILABLE at once, before any of its inputs are decoded, so
 * a burst costs each excess request only its envelope and memory stays bounded.
 *
 * UNAVAILABLE (HTTP 503), not RESOURCE_EXHAUSTED: it is what TF's batching answers when its queue
 * is full (--enable_batching keeps its own max_enqueued_batches bound: both say "this model's
 * queue is full" with one status), what Triton answers past max_queue_size and TorchServe (503)
 * past job_queue_size, and the status gRPC clients treat as retryable.
 *
 * The default, 100, is TorchServe's default job_queue_size. The pool runs one request per CPU at
 * once, so up to a few dozen CPUs that leaves about 100 waiting per model, each holding at most
 * its request bytes; with --enable_batching it still lets batches of up to 100 requests form.
 *
 * A request counts once, whatever its size and however batching splits it; a chain's request
 * counts against the chain alone: its steps take their models' handles directly and never queue
 * behind the bound, so an admitted chain request is never shed halfway (the earlier steps' work
 * lost) and cannot deadlock waiting for a place its own steps hold.
 */
import { ServingError } from '../errors/serving_error';
import { exportInFlight, recordShed } from '../monitoring/queue_metrics';

export class ModelQueueBound {
  /** Requests in flight by model name; a model once seen keeps its entry (the gauge shows 0). */
  private readonly inFlight = new Map<string, number>();

  /** `limit`: requests in flight per model; 0: unbounded (still counted for the gauge). */
  constructor(readonly limit: number) {
    exportInFlight(this.inFlight);
  }

  /** Takes a place for one request to `model`, or throws UNAVAILABLE when the model has none left. */
  admit(model: string): void {
    const count = this.inFlight.get(model) ?? 0;
    if (this.limit > 0 && count >= this.limit) {
      recordShed(model);
      throw new ServingError(
        'UNAVAILABLE',
        `The request queue of model ${model} is full: ${this.limit} requests are already waiting or running ` +
          '(--duoserve_max_queued_requests_per_model); retry later',
      );
    }
    this.inFlight.set(model, count + 1);
  }

  /** Gives back the place of one admitted request to `model`. */
  release(model: string): void {
    this.inFlight.set(model, (this.inFlight.get(model) ?? 1) - 1);
  }

  /** Requests to `model` admitted and not yet released. */
  inFlightOf(model: string): number {
    return this.inFlight.get(model) ?? 0;
  }
}
