import {
  highestNewAspiredVersion,
  type AspiredServableStateSnapshot,
  type AspiredVersionPolicy,
  type ServableAction,
} from './aspired_version_policy';

/**
 * Keeps a version serving during a transition: a version that is no longer aspired is
 * unloaded only once an aspired version is AVAILABLE (or when nothing is aspired any more, or
 * when more than one unaspired version is serving). So a new version becomes AVAILABLE
 * before the old one starts UNLOADING, at the cost of holding both for a while; and if the
 * new version fails to load, the old one keeps serving. The default policy.
 */
export class AvailabilityPreservingPolicy implements AspiredVersionPolicy {
  getNextAction(versions: readonly AspiredServableStateSnapshot[]): ServableAction | undefined {
    const anyAspired = versions.some((version) => version.isAspired);
    const aspiredServing = versions.some((version) => version.isAspired && version.state === 'ready');
    const unaspiredServing = versions.filter((version) => !version.isAspired && version.state === 'ready');
    if (unaspiredServing.length > 0 && (!anyAspired || aspiredServing || unaspiredServing.length > 1)) {
      return { action: 'unload', id: unaspiredServing[0].id };
    }
    const load = highestNewAspiredVersion(versions);
    return load ? { action: 'load', id: load } : undefined;
  }
}
