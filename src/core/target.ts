import type { AspiredVersionsCallback, Source } from './source';

/** Receives aspired versions: a source adapter, a router, or the manager at the chain's end. */
export interface Target<T> {
  getAspiredVersionsCallback(): AspiredVersionsCallback<T>;
}

export function connectSourceToTarget<T>(source: Source<T>, target: Target<T>): void {
  source.setAspiredVersionsCallback(target.getAspiredVersionsCallback());
}
