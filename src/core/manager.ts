import type { ServableHandle } from './servable_handle';
import type { ServableId } from './servable_id';
import type { ServableRequest } from './servable_request';
import type { ServableStateSnapshot } from './servable_state';

/**
 * What the APIs see of the lifecycle. The servable inside a handle is opaque to the core;
 * the API layer knows it as an InferenceServable.
 */
export interface Manager {
  /**
   * A handle on the version `request` names, or on the latest AVAILABLE version when it names
   * none. Throws ServingError NOT_FOUND (unknown model, version or label; nothing available).
   */
  getServableHandle<T>(request: ServableRequest): ServableHandle<T>;
  /**
   * The version `label` names for model `name`, whether that version is loaded or not.
   * Throws ServingError INVALID_ARGUMENT ("Unrecognized servable version label: L") if none.
   */
  resolveVersionLabel(name: string, label: string): number;
  listAvailableServableIds(): ServableId[];
  /** Every version of `name` the manager knows of, newest first; empty if it knows none. */
  getVersionStates(name: string): ServableStateSnapshot[];
}
