import {
  highestNewAspiredVersion,
  type AspiredServableStateSnapshot,
  type AspiredVersionPolicy,
  type ServableAction,
} from './aspired_version_policy';

/**
 * Never holds an old and a new version at once: every version that is no longer aspired is
 * unloaded (and has finished unloading or loading) before a new aspired version starts
 * loading. Saves memory at the cost of a gap with no version available; if the new version
 * then fails to load, nothing serves.
 */
export class ResourcePreservingPolicy implements AspiredVersionPolicy {
  getNextAction(versions: readonly AspiredServableStateSnapshot[]): ServableAction | undefined {
    const unaspiredServing = versions.find((version) => !version.isAspired && version.state === 'ready');
    if (unaspiredServing) return { action: 'unload', id: unaspiredServing.id };
    const unaspiredInFlight = versions.some(
      (version) => !version.isAspired && version.state !== 'disabled' && version.state !== 'error',
    );
    if (unaspiredInFlight) return undefined;
    const load = highestNewAspiredVersion(versions);
    return load ? { action: 'load', id: load } : undefined;
  }
}
