/**
 * duoserve's per-version memory figure: no framework says what a loaded model holds, so the
 * gauge is the process's resident-set growth across the version's load and warmup, an
 * estimate (loads at the same time, and whatever else allocates meanwhile, count too; memory
 * freed meanwhile counts against it, never below 0). Removed when the version unloads.
 */
import { Gauge } from 'prom-client';
import type { ServableId } from '../core/servable_id';
import { metricsRegistry } from './registry';

const modelMemory = new Gauge({
  name: 'duoserve_model_memory_bytes',
  help: 'Estimated memory of each loaded model version: the process RSS growth across its load and warmup',
  labelNames: ['model', 'version'],
  registers: [metricsRegistry],
});

function labelsOf(id: ServableId) {
  return { model: id.name, version: String(id.version) };
}

/** The process's resident set now, for `recordModelMemory`. */
export function residentBytes(): number {
  return process.memoryUsage.rss();
}

/** `id` is loaded: its estimate is the RSS growth since `rssBefore` (residentBytes() at its load's start). */
export function recordModelMemory(id: ServableId, rssBefore: number): void {
  modelMemory.set(labelsOf(id), Math.max(0, residentBytes() - rssBefore));
}

export function forgetModelMemory(id: ServableId): void {
  modelMemory.remove(labelsOf(id));
}
