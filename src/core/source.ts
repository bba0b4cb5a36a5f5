import type { ServableData } from './servable_data';

/**
 * Tells a target which versions of `servableName` should be loaded. Every call carries the
 * COMPLETE aspired set for that servable: a version missing from it is no longer aspired, and
 * an empty list asks for every version to be unloaded. Versions in one call all carry
 * `servableName` and have distinct numbers (anything else is a programming error).
 * Ownership of each data item (e.g. a Loader) passes to the receiver, which may drop it
 * (a version it already manages keeps its first data).
 */
export type AspiredVersionsCallback<T> = (servableName: string, versions: ServableData<T>[]) => void;

/**
 * Emits aspired versions of servables: where versions come from (a file system, a config).
 * A source calls its callback on the JS thread whenever its view changes, never before the
 * callback is set; setting it a second time is a programming error.
 */
export interface Source<T> {
  setAspiredVersionsCallback(callback: AspiredVersionsCallback<T>): void;
}
