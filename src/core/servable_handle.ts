import type { ServableId } from './servable_id';

/**
 * A request's hold on one loaded version. While any handle is unreleased the manager will
 * not unload that version. Release exactly once, when the request is finished (including
 * its response being encoded); releasing twice is a programming error and throws.
 */
export interface ServableHandle<T = unknown> {
  readonly id: ServableId;
  readonly servable: T;
  release(): void;
}
