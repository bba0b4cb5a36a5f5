import { ServingError } from '../errors/serving_error';
import type { ServableId } from './servable_id';

/**
 * One aspired version as a source emits it: its id and either its data (a storage path, a
 * Loader, ...) or the error that kept the source from producing that data. An error travels
 * down the chain as data and ends as that version's END state with the error attached.
 */
export interface ServableData<T> {
  readonly id: ServableId;
  readonly data: T | ServingError;
}

export function isServableError(data: unknown): data is ServingError {
  return data instanceof ServingError;
}
