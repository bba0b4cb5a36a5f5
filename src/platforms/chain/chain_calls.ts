/**
 * Which models the chain versions loading or loaded here call, so that a chain version that
 * would call itself, directly or through other chains, is refused as it loads (it would
 * otherwise wait for itself until the model wait times out, or recurse per request).
 *
 * Every version counts from the start of its load until it unloads or fails: a request to a
 * chain runs whichever version it names, so an edge from any live version can close a cycle.
 * Chains that call each other are found by whichever loads second, and the first then fails
 * on the second's load error; with one load at a time (--num_load_threads 0) the first waits
 * for the second, which cannot start, until the model wait times out.
 */
export class ChainCalls {
  /** Chain name -> version key -> the models its steps name. */
  private readonly calls = new Map<string, Map<string, ReadonlySet<string>>>();

  /**
   * Records that `version` of chain `name` calls `models`, unless that closes a cycle: then
   * nothing is recorded and the cycle is returned, [a, b, a]. Else `release` forgets it.
   */
  enter(name: string, version: string, models: ReadonlySet<string>): { cycle: string[] } | { release: () => void } {
    const cycle = this.pathBack(name, models);
    if (cycle) return { cycle: [name, ...cycle] };
    const versions = this.calls.get(name) ?? new Map<string, ReadonlySet<string>>();
    this.calls.set(name, versions.set(version, models));
    return {
      release: () => {
        versions.delete(version);
        if (versions.size === 0 && this.calls.get(name) === versions) this.calls.delete(name);
      },
    };
  }

  /** A path from one of `models` to chain `name` through the recorded calls ([..., name]), if any. */
  private pathBack(name: string, models: ReadonlySet<string>): string[] | undefined {
    const seen = new Set<string>();
    const search = (model: string): string[] | undefined => {
      if (model === name) return [model];
      if (seen.has(model)) return undefined;
      seen.add(model);
      for (const called of this.called(model)) {
        const rest = search(called);
        if (rest) return [model, ...rest];
      }
      return undefined;
    };
    for (const model of [...models].sort()) {
      const path = search(model);
      if (path) return path;
    }
    return undefined;
  }

  private called(chain: string): Set<string> {
    return new Set([...(this.calls.get(chain)?.values() ?? [])].flatMap((models) => [...models]));
  }
}
