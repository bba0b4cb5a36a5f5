import { ServingError, toServingError } from '../errors/serving_error';
import { isServableError, type ServableData } from './servable_data';
import type { ServableId } from './servable_id';
import type { AspiredVersionsCallback, Source } from './source';
import type { Target } from './target';

/**
 * Turns one version's data of type T into data of type U, or into the error that stops that
 * version (e.g. a platform's adapter: version directory -> Loader). Called on the JS thread,
 * once per aspired version per emission, so it must be cheap and must not load anything.
 */
export type Convert<T, U> = (id: ServableId, data: T) => U | ServingError;

/**
 * A Target<T> that re-emits each aspired set as a Source<U>: the link between where versions
 * come from and what loads them. Upstream errors pass through untouched; a conversion that
 * throws becomes that version's error instead of breaking the whole set.
 * Sets that arrive before the downstream callback is set are kept (the latest per servable,
 * since each set is complete) and delivered when it is set.
 */
export class SourceAdapter<T, U> implements Source<U>, Target<T> {
  private callback?: AspiredVersionsCallback<U>;
  private readonly waiting = new Map<string, ServableData<U>[]>();

  constructor(private readonly convert: Convert<T, U>) {}

  setAspiredVersionsCallback(callback: AspiredVersionsCallback<U>): void {
    if (this.callback) throw new Error('SourceAdapter: the aspired-versions callback is already set');
    this.callback = callback;
    for (const [name, versions] of this.waiting) callback(name, versions);
    this.waiting.clear();
  }

  getAspiredVersionsCallback(): AspiredVersionsCallback<T> {
    return (servableName, versions) => {
      const adapted = versions.map((version) => this.adapt(version));
      if (this.callback) this.callback(servableName, adapted);
      else this.waiting.set(servableName, adapted);
    };
  }

  private adapt(version: ServableData<T>): ServableData<U> {
    if (isServableError(version.data)) return { id: version.id, data: version.data };
    try {
      return { id: version.id, data: this.convert(version.id, version.data) };
    } catch (error) {
      return { id: version.id, data: toServingError(error) };
    }
  }
}
