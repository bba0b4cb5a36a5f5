import type { Log } from './log';
import { servableIdString } from './servable_id';
import type { ServableStateMonitor } from './servable_state_monitor';

/**
 * Logs each version's transitions in TF-Serving's words ("Successfully loaded servable
 * version {name: x version: 1}"). Returns the function that stops logging.
 */
export function logServableStateTransitions(monitor: ServableStateMonitor, log: Log): () => void {
  return monitor.subscribe(({ id, state, error }) => {
    const version = servableIdString(id);
    switch (state) {
      case 'START':
        return;
      case 'LOADING':
        return log('INFO', `Loading servable version ${version}`);
      case 'AVAILABLE':
        return log('INFO', `Successfully loaded servable version ${version}`);
      case 'UNLOADING':
        return log('INFO', `Unloading servable version ${version}`);
      case 'END':
        if (error) return log('ERROR', `Servable version ${version} ended with error: ${error.message}`);
        return log('INFO', `Done unloading servable version ${version}`);
    }
  });
}
