/**
 * Which of the versions found under a servable's base path should be served: the
 * model_version_policy of a ModelConfig. Omitting the policy means `latest` with one version.
 */
export type ServableVersionPolicy =
  /** The `numVersions` highest versions (at least 1; default 1). */
  | { readonly kind: 'latest'; readonly numVersions?: number }
  /** Every version found. */
  | { readonly kind: 'all' }
  /** Exactly these versions, those of them that exist. */
  | { readonly kind: 'specific'; readonly versions: readonly number[] };

export const DEFAULT_VERSION_POLICY: ServableVersionPolicy = { kind: 'latest', numVersions: 1 };

/** How many versions `latest` keeps: TF-Serving treats 0 (unset) as 1. */
export function latestVersionCount(policy: { numVersions?: number }): number {
  return Math.max(policy.numVersions ?? 1, 1);
}

/** The versions `policy` aspires among `available` (any order), highest first. */
export function aspiredVersionNumbers(
  policy: ServableVersionPolicy = DEFAULT_VERSION_POLICY,
  available: Iterable<number>,
): number[] {
  const highestFirst = [...new Set(available)].sort((a, b) => b - a);
  switch (policy.kind) {
    case 'latest':
      return highestFirst.slice(0, latestVersionCount(policy));
    case 'all':
      return highestFirst;
    case 'specific': {
      const wanted = new Set(policy.versions);
      return highestFirst.filter((version) => wanted.has(version));
    }
  }
}
