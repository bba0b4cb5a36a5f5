import type { Manager } from '../core/manager';
import type { ServableRequest } from '../core/servable_request';
import type { ServableStateSnapshot } from '../core/servable_state';
import { notFound } from '../errors/serving_error';

/**
 * The versions GetModelStatus reports for a request, as TF-Serving selects them: the named
 * version, else every version the manager knows of. A label does not narrow the answer
 * (TF-Serving's GetModelStatus reads only the version), on gRPC and REST alike.
 */
export function versionStatesFor(manager: Manager, request: ServableRequest): ServableStateSnapshot[] {
  const version = request.version;
  const states = manager.getVersionStates(request.name);
  if (version === undefined) {
    if (states.length === 0) throw notFound(`Could not find any versions of model ${request.name}`);
    return states;
  }
  const match = states.filter((snapshot) => snapshot.id.version === version);
  if (match.length === 0) throw notFound(`Could not find version ${version} of model ${request.name}`);
  return match;
}
