/**
 * The checks TF-Serving's Server::BuildAndStart makes on its options before it starts anything.
 * Run them after parseFlags, unless --version was given.
 */
import { ConfigError } from './config_error';
import { ServerFlags } from './flags';

/** The values of --duoserve_version_policy: the aspired-version policies a server may run. */
export const VERSION_POLICIES = ['availability_preserving', 'resource_preserving'] as const;
export type VersionPolicyName = (typeof VERSION_POLICIES)[number];

/** Throws ConfigError for a combination TF-Serving refuses; returns warnings for ones it tolerates. */
export function checkServerFlags(flags: ServerFlags): string[] {
  if (flags.port === 0) {
    throw new ConfigError('--port=0: the gRPC port must be set');
  }
  if (flags.modelBasePath === '' && flags.modelConfigFile === '') {
    throw new ConfigError('Both --model_base_path and --model_config_file are empty: nothing to serve');
  }
  if (flags.batchingParametersFile !== '' && !flags.enableBatching) {
    throw new ConfigError('--batching_parameters_file is set without --enable_batching');
  }
  if (!(VERSION_POLICIES as readonly string[]).includes(flags.versionPolicy)) {
    const allowed = VERSION_POLICIES.join(', ');
    throw new ConfigError(`--duoserve_version_policy must be one of ${allowed}; got ${flags.versionPolicy}`);
  }
  const warnings: string[] = [];
  if (flags.restApiPort !== 0 && flags.restApiPort === flags.port) {
    warnings.push(
      `--rest_api_port=${flags.restApiPort} is the same as --port; the HTTP/REST API is not started (use another port)`,
    );
  }
  return warnings;
}

/** Whether to start the REST API: a non-zero port that differs from the gRPC one (as TF-Serving decides). */
export function restApiEnabled(flags: ServerFlags): boolean {
  return flags.restApiPort !== 0 && flags.restApiPort !== flags.port;
}
