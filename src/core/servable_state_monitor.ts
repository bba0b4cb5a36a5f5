import { servableIdString, type ServableId } from './servable_id';
import type { ServableRequest } from './servable_request';
import type { ServableState, ServableStateSnapshot } from './servable_state';

export type ServableStateListener = (snapshot: ServableStateSnapshot) => void;

/**
 * The record of every version's latest state, and the place to hear about transitions.
 * The manager publishes each transition here (it is the only publisher); GetModelStatus,
 * logging and tests read or subscribe. States are kept after END, so a version that was
 * unloaded or failed still reports END (with its error) until it is aspired again.
 * Listeners run synchronously on the JS thread, in subscription order; a listener that
 * throws is a programming error and the exception propagates to the publisher.
 */
export class ServableStateMonitor {
  private readonly states = new Map<string, Map<number, ServableStateSnapshot>>();
  private readonly listeners = new Set<ServableStateListener>();

  publish(snapshot: ServableStateSnapshot): void {
    let versions = this.states.get(snapshot.id.name);
    if (!versions) {
      versions = new Map();
      this.states.set(snapshot.id.name, versions);
    }
    versions.set(snapshot.id.version, snapshot);
    for (const listener of [...this.listeners]) listener(snapshot);
  }

  /** Calls `listener` on every later transition; returns the function that unsubscribes it. */
  subscribe(listener: ServableStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getState(id: ServableId): ServableStateSnapshot | undefined {
    return this.states.get(id.name)?.get(id.version);
  }

  /** Every version of `name` ever published, newest (highest) first. */
  getVersionStates(name: string): ServableStateSnapshot[] {
    const versions = this.states.get(name);
    if (!versions) return [];
    return [...versions.values()].sort((a, b) => b.id.version - a.id.version);
  }

  getAllServableStates(): ServableStateSnapshot[] {
    return [...this.states.keys()].flatMap((name) => this.getVersionStates(name));
  }

  /**
   * Resolves with the snapshot once `id` is in `state` (at once if it already is). Rejects
   * after `timeoutMs` with an Error naming the state it is in instead.
   */
  waitForState(id: ServableId, state: ServableState, timeoutMs: number): Promise<ServableStateSnapshot> {
    return new Promise((resolve, reject) => {
      const current = this.getState(id);
      if (current?.state === state) return resolve(current);
      const timer = setTimeout(() => {
        unsubscribe();
        const now = this.getState(id);
        const detail = now ? `${now.state}${now.error ? ` (${now.error.message})` : ''}` : 'unknown';
        reject(
          new Error(`servable ${servableIdString(id)} did not reach ${state} in ${timeoutMs} ms; it is ${detail}`),
        );
      }, timeoutMs);
      const unsubscribe = this.subscribe((snapshot) => {
        if (snapshot.id.name !== id.name || snapshot.id.version !== id.version || snapshot.state !== state) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(snapshot);
      });
    });
  }

  /**
   * Waits until each request is settled: a request naming a version settles when that
   * version reaches `goal` or END; one naming no version when any version of the servable
   * does. Resolves with one snapshot per request, in order (check for END and its error).
   * Labels are not resolved here. No timeout: race it with one where that matters.
   */
  waitUntilServablesReachState(
    requests: readonly ServableRequest[],
    goal: ServableState,
  ): Promise<ServableStateSnapshot[]> {
    const settledBy = (request: ServableRequest): ServableStateSnapshot | undefined => {
      const candidates =
        request.version === undefined
          ? this.getVersionStates(request.name)
          : [this.getState({ name: request.name, version: request.version })];
      return (
        candidates.find((snapshot) => snapshot?.state === goal) ??
        candidates.find((snapshot) => snapshot?.state === 'END')
      );
    };
    return new Promise((resolve) => {
      const check = (): boolean => {
        const settled = requests.map(settledBy);
        if (settled.some((snapshot) => snapshot === undefined)) return false;
        resolve(settled as ServableStateSnapshot[]);
        return true;
      };
      if (check()) return;
      const unsubscribe = this.subscribe(() => {
        if (check()) unsubscribe();
      });
    });
  }
}
