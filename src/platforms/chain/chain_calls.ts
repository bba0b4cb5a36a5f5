/**
 * Which models the chain versions loading or loaded here call, so that a chain version that
 * would call itself, directly or through other chains, is refused as it loads (it would
 * otherwise wait for itself until the model wait times out, or recurse per request).
 *
 * Every version counts from the start of its load until it unloads or fails: a request to a
 * chain runs whichever version it names, so an edge from any live version can close a cycle.
 * Of chains that call each other, the one that loads second finds the cycle; the versions it
 * runs through that are still loading (waiting for a model of the cycle) are told, and fail
 * with it too. With one load at a time (--num_load_threads 0) the first chain waits for the
 * second, whose load cannot start, until the model wait times out.
 */
export interface ChainVersionCalls {
  /** A cycle found through this version since it entered ([a, b, a] from this chain), if any. */
  cycle(): string[] | undefined;
  /** Forgets the version (its load failed, or it unloads). */
  release(): void;
}

interface Entry {
  readonly models: ReadonlySet<string>;
  cycle?: string[];
}

export class ChainCalls {
  /** Chain name -> version key -> what it calls. */
  private readonly chains = new Map<string, Map<string, Entry>>();

  /**
   * Records that `version` of chain `name` calls `models`, unless that closes a cycle: then
   * nothing is recorded and the cycle is returned, [name, ..., name].
   */
  enter(name: string, version: string, models: ReadonlySet<string>): { cycle: string[] } | ChainVersionCalls {
    const back = this.pathBack(name, models);
    if (back) {
      const cycle = [name, ...back];
      for (const [i, chain] of cycle.slice(1, -1).entries()) {
        const rotated = [...cycle.slice(i + 1, -1), ...cycle.slice(0, i + 2)];
        for (const entry of this.chains.get(chain)?.values() ?? []) entry.cycle ??= rotated;
      }
      return { cycle };
    }
    const versions = this.chains.get(name) ?? new Map<string, Entry>();
    const entry: Entry = { models };
    this.chains.set(name, versions.set(version, entry));
    return {
      cycle: () => entry.cycle,
      release: () => {
        if (versions.get(version) === entry) versions.delete(version);
        if (versions.size === 0 && this.chains.get(name) === versions) this.chains.delete(name);
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

  private called(chain: string): string[] {
    return [...new Set([...(this.chains.get(chain)?.values() ?? [])].flatMap((entry) => [...entry.models]))];
  }
}
