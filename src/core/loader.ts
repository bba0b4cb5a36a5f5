/**
 * Loads and unloads one version of one servable; the manager owns it and decides when.
 * Creating a Loader must be cheap and must not touch the model: sources emit a fresh Loader
 * for every aspired version on every change, and the manager drops those it does not need.
 *
 * The manager calls these on the JS thread, never concurrently for one loader:
 *   load() once, or again after a rejected load() when retrying; then unload() once, and
 *   only after a successful load(). A load() that rejects must leave nothing behind (no
 *   unload() follows it). Rejecting is how a loader reports a failure (preferably with a
 *   ServingError); the manager records it as the version's END state.
 */
export interface Loader {
  load(): Promise<void>;
  unload(): Promise<void>;
  /** The loaded servable, opaque to the core. Valid only between load() and unload(). */
  servable(): unknown;
}
