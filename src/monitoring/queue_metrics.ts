/**
 * duoserve's figures of the bound on each model's queued work (src/server/model_queue_bound.ts);
 * TF-Serving has none. The in-flight gauge is read from the bounds when scraped, so that
 * admitting a request costs no metric update; the shed counter moves only on a refusal.
 */
import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from './registry';

const registers = [metricsRegistry];

/** Each bound's requests in flight by model name; the gauge sums them (one bound per server). */
const inFlightSources = new Set<ReadonlyMap<string, number>>();

new Gauge({
  name: 'duoserve_model_requests_in_flight',
  help:
    'Inference requests (Predict, Classify, Regress, MultiInference) of the model admitted and not yet ' +
    'answered: waiting for an inference thread or a batch, or running.',
  labelNames: ['model_name'],
  registers,
  collect() {
    this.reset();
    for (const source of inFlightSources) {
      for (const [model, count] of source) this.inc({ model_name: model }, count);
    }
  },
});

const shedCount = new Counter({
  name: 'duoserve_model_requests_shed_total',
  help:
    'Inference requests of the model answered UNAVAILABLE at once because its queue was full ' +
    '(--duoserve_max_queued_requests_per_model).',
  labelNames: ['model_name'],
  registers,
});

/** Exports `inFlight` (model name -> requests in flight) through the in-flight gauge. */
export function exportInFlight(inFlight: ReadonlyMap<string, number>): void {
  inFlightSources.add(inFlight);
}

/** One request to `modelName` refused because its queue was full. */
export function recordShed(modelName: string): void {
  shedCount.inc({ model_name: modelName });
}
