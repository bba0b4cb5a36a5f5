/**
 * Loading a chain version needs the signatures of the models it uses, which may still be
 * loading (all models start together). This waits, bounded, for the version a step names.
 *
 * The manager loads one version at a time unless --num_load_threads says otherwise, and a
 * chain's load holds its load slot while it waits: chain loads must start after those of the
 * models they use (Platform.loadsAfterOthers tells the composition root; loads start in the
 * order the source emits), or the models wait behind the chain until this times out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Manager } from '../../core/manager';
import type { ServableHandle } from '../../core/servable_handle';
import type { ServableRequest } from '../../core/servable_request';
import { ServingError, toServingError } from '../../errors/serving_error';

export interface ModelWait {
  /** How long a chain version waits for a model version it uses before failing to load. */
  timeoutMs: number;
  /** How often it looks again meanwhile. */
  pollMs: number;
}

/**
 * A handle on the version `request` names (latest when it names none) once it is AVAILABLE.
 * Fails at once when the manager says it never will be (an unknown label, every version
 * failed to load), with what `giveUp` answers once it answers an error (it is asked before
 * each look), and with UNAVAILABLE after `wait.timeoutMs`.
 */
export async function waitForModel<T>(
  manager: Manager,
  request: ServableRequest,
  wait: ModelWait,
  giveUp: () => ServingError | undefined = () => undefined,
): Promise<ServableHandle<T>> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    const reason = giveUp();
    if (reason) throw reason;
    let lastError: ServingError;
    try {
      return manager.getServableHandle<T>(request);
    } catch (thrown) {
      lastError = toServingError(thrown);
      if (lastError.code !== 'NOT_FOUND') throw lastError;
    }
    const failed = failedToLoad(manager, request);
    if (failed) throw failed;
    if (Date.now() >= deadline) {
      const known = manager.getVersionStates(request.name).length > 0;
      throw new ServingError(
        'UNAVAILABLE',
        `model ${request.name} is ${known ? 'not AVAILABLE' : 'unknown (not served here)'} after ` +
          `${wait.timeoutMs} ms: ${lastError.message}`,
      );
    }
    await sleep(wait.pollMs);
  }
}

/** The load error when every version that could answer `request` has ended with one. */
function failedToLoad(manager: Manager, request: ServableRequest): ServingError | undefined {
  const states = manager
    .getVersionStates(request.name)
    .filter((state) => request.version === undefined || state.id.version === request.version);
  if (states.length === 0 || !states.every((state) => state.state === 'END')) return undefined;
  const failure = states.find((state) => state.error !== undefined);
  if (!failure) return undefined;
  return new ServingError(
    failure.error!.code,
    `model ${request.name} version ${failure.id.version} failed to load: ${failure.error!.message}`,
  );
}
