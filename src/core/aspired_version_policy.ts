import type { LoaderHarnessState } from './loader_harness';
import type { ServableId } from './servable_id';

/** One version of a servable as a policy sees it. */
export interface AspiredServableStateSnapshot {
  readonly id: ServableId;
  readonly state: LoaderHarnessState;
  readonly isAspired: boolean;
}

export interface ServableAction {
  readonly action: 'load' | 'unload';
  readonly id: ServableId;
}

/**
 * Decides the order of loads and unloads within one servable: the trade-off between always
 * having a version available and never holding two at once. The manager asks again after
 * every action it takes and every transition that completes, until the answer is none.
 * Policies are pure: the same versions give the same answer.
 */
export interface AspiredVersionPolicy {
  /** The next action for one servable's versions (all of one name), or undefined: wait. */
  getNextAction(versions: readonly AspiredServableStateSnapshot[]): ServableAction | undefined;
}

/** Among new aspired versions, the highest: the one to load first. */
export function highestNewAspiredVersion(versions: readonly AspiredServableStateSnapshot[]): ServableId | undefined {
  let highest: ServableId | undefined;
  for (const { id, state, isAspired } of versions) {
    if (isAspired && state === 'new' && (highest === undefined || id.version > highest.version)) highest = id;
  }
  return highest;
}
