import type { ServingError } from '../errors/serving_error';
import type { ServableId } from './servable_id';

/** The states of one version as GetModelStatus reports them (ModelVersionStatus.State). */
export type ServableState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

export interface ServableStateSnapshot {
  readonly id: ServableId;
  readonly state: ServableState;
  /** Set when the version failed to load (state END) or failed to unload. */
  readonly error?: ServingError;
}
