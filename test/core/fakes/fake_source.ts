import type { ServingError } from '../../../src/errors/serving_error';
import type { AspiredVersionsCallback, Source } from '../../../src/core/source';

/** A Source a test drives by hand: aspire() emits one servable's complete aspired set. */
export class FakeSource<T> implements Source<T> {
  private callback?: AspiredVersionsCallback<T>;

  setAspiredVersionsCallback(callback: AspiredVersionsCallback<T>): void {
    if (this.callback) throw new Error('FakeSource: callback already set');
    this.callback = callback;
  }

  /** Emits `versions` (version number -> data or error) as the aspired set of `name`. */
  aspire(name: string, versions: Array<[number, T | ServingError]>): void {
    if (!this.callback) throw new Error('FakeSource: no callback set');
    this.callback(
      name,
      versions.map(([version, data]) => ({ id: { name, version }, data })),
    );
  }
}
