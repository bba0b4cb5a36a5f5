import type { Manager } from '../core/manager';
import type { ServableRequest } from '../core/servable_request';
import type { ServableStateSnapshot } from '../core/servable_state';
import { notFound } from '../errors/serving_error';

/**
 * The versions GetModelStatus reports for a request, as TF-Serving selects them: the named
 * version (or the one a label points at), else every version the manager knows of.
 */
export function versionStatesFor(manager: Manager, request: ServableRequest): ServableStateSnapshot[] {
  const states = manager.getVersionStates(request.name);
  if (states.length === 0) throw notFound(`Could not find any versions of model ${request.name}`);
  if (request.version === undefined && request.label === undefined) return states;
  const version = request.version ?? labelledVersion(manager, request);
  const match = states.filter((snapshot) => snapshot.id.version === version);
  if (match.length === 0) throw notFound(`Could not find version ${version} of model ${request.name}`);
  return match;
}

function labelledVersion(manager: Manager, request: ServableRequest): number {
  const handle = manager.getServableHandle(request);
  handle.release();
  return handle.id.version;
}
