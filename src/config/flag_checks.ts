/**
 * The checks TF-Serving's Server::BuildAndStart makes on its options before it starts anything.
 * Run them after parseFlags, unless --version was given.
 */
import { constants } from 'node:buffer';
import { ConfigError } from './config_error';
import { FLAGS_BY_NAME } from './flag_list';
import { ServerFlags } from './flags';

/** The values of --duoserve_version_policy: the aspired-version policies a server may run. */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormatName = (typeof LOG_FORMATS)[number];

export const VERSION_POLICIES = ['availability_preserving', 'resource_preserving'] as const;
export type VersionPolicyName = (typeof VERSION_POLICIES)[number];

/** The values of --duoserve_reload_config_rpc: where HandleReloadConfigRequest is accepted. */
export const RELOAD_CONFIG_RPC_MODES = ['all', 'socket_only', 'off'] as const;
export type ReloadConfigRpcMode = (typeof RELOAD_CONFIG_RPC_MODES)[number];

const MAX_STRING_LENGTH = constants.MAX_STRING_LENGTH;

/** The most threads the PyTorch addon takes for either libtorch pool (native/pytorch/pytorch_backend.cc). */
const MAX_TORCH_THREADS = 1024;

/** The longest Unix socket path Linux binds (sun_path holds 108 bytes, the last one NUL). */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107;

/**
 * Throws ConfigError for a combination TF-Serving refuses, in Server::BuildAndStart's words;
 * returns warnings for ones it tolerates.
 */
export function checkServerFlags(flags: ServerFlags): string[] {
  if (flags.port === 0 && flags.grpcSocketPath === '') {
    throw new ConfigError('At least one of server_options.grpc_port or server_options.grpc_socket_path must be set.');
  }
  const socketPathBytes = Buffer.byteLength(flags.grpcSocketPath);
  if (socketPathBytes > MAX_UNIX_SOCKET_PATH_BYTES) {
    // The kernel would not take it, and Node would bind a truncated path instead.
    throw new ConfigError(
      `--grpc_socket_path is ${socketPathBytes} bytes long; a Unix socket path may have at most ` +
        `${MAX_UNIX_SOCKET_PATH_BYTES} (sun_path). Use a shorter path, e.g. a directory nearer to /.`,
    );
  }
  if (flags.modelBasePath === '' && flags.modelConfigFile === '') {
    throw new ConfigError('Both server_options.model_base_path and server_options.model_config_file are empty!');
  }
  if (flags.batchingParametersFile !== '' && !flags.enableBatching) {
    throw new ConfigError(
      'server_options.batching_parameters_file is set without setting server_options.enable_batching to true.',
    );
  }
  if (!(VERSION_POLICIES as readonly string[]).includes(flags.versionPolicy)) {
    const allowed = VERSION_POLICIES.join(', ');
    throw new ConfigError(`--duoserve_version_policy must be one of ${allowed}; got ${flags.versionPolicy}`);
  }
  checkTransportSecurityFlags(flags);
  if (!(RELOAD_CONFIG_RPC_MODES as readonly string[]).includes(flags.reloadConfigRpc)) {
    const allowed = RELOAD_CONFIG_RPC_MODES.join(', ');
    throw new ConfigError(`--duoserve_reload_config_rpc must be one of ${allowed}; got ${flags.reloadConfigRpc}`);
  }
  if (flags.reloadConfigRpc === 'socket_only' && flags.grpcSocketPath === '') {
    throw new ConfigError(
      '--duoserve_reload_config_rpc=socket_only needs --grpc_socket_path (the socket it is served on)',
    );
  }
  if (flags.shutdownGracePeriodSeconds < 0) {
    throw new ConfigError(
      `--duoserve_shutdown_grace_period_seconds must be 0 or more; got ${flags.shutdownGracePeriodSeconds}`,
    );
  }
  if (flags.maxQueuedRequestsPerModel < 0) {
    throw new ConfigError(
      `--duoserve_max_queued_requests_per_model must be 0 (unbounded) or more; got ${flags.maxQueuedRequestsPerModel}`,
    );
  }
  // A body is parsed as one string, and V8 holds none longer than this.
  if (flags.restMaxBodyBytes <= 0 || flags.restMaxBodyBytes > MAX_STRING_LENGTH) {
    throw new ConfigError(
      `--duoserve_rest_max_body_bytes must be between 1 and ${MAX_STRING_LENGTH} (the longest string Node.js ` +
        `holds); got ${flags.restMaxBodyBytes}`,
    );
  }
  for (const [name, threads] of [
    ['duoserve_torch_intra_op_threads', flags.torchIntraOpThreads],
    ['duoserve_torch_inter_op_threads', flags.torchInterOpThreads],
  ] as const) {
    if (threads < 0 || threads > MAX_TORCH_THREADS) {
      throw new ConfigError(`--${name} must be from 0 (the thread budget's) to ${MAX_TORCH_THREADS}; got ${threads}`);
    }
  }
  if (!(LOG_FORMATS as readonly string[]).includes(flags.logFormat)) {
    throw new ConfigError(`--duoserve_log_format must be one of ${LOG_FORMATS.join(', ')}; got ${flags.logFormat}`);
  }
  for (const [name, value] of [
    ['duoserve_request_log_max_file_bytes', flags.requestLogMaxFileBytes],
    ['duoserve_request_log_buffer_bytes', flags.requestLogBufferBytes],
  ] as const) {
    if (value <= 0) throw new ConfigError(`--${name} must be 1 or more; got ${value}`);
  }
  if (flags.requestLogMaxFileRecords < 0) {
    throw new ConfigError(
      `--duoserve_request_log_max_file_records must be 0 (no limit) or more; got ${flags.requestLogMaxFileRecords}`,
    );
  }
  for (const [name, address] of [
    ['duoserve_grpc_listen_address', flags.grpcListenAddress],
    ['duoserve_rest_listen_address', flags.restListenAddress],
  ]) {
    if (address.trim() === '') throw new ConfigError(`--${name} must not be empty`);
  }
  const warnings: string[] = [];
  if (flags.restApiPort !== 0 && flags.restApiPort === flags.port) {
    warnings.push(
      'server_options.http_port cannot be same as grpc_port. Please use a different port for HTTP/REST API. ' +
        'Skipped exporting HTTP/REST API.',
    );
  }
  if (flags.restApiSsl && !restApiEnabled(flags)) {
    warnings.push('--duoserve_rest_api_ssl has no effect: no HTTP/REST API is exported (--rest_api_port)');
  }
  const ignored = flagsIgnoredWithPlatformConfig(flags);
  if (ignored.length > 0) {
    warnings.push(
      `${ignored.join(', ')} ignored: with --platform_config_file, the tensorflow platform's session settings ` +
        'come from that file (as in TF-Serving)',
    );
  }
  return warnings;
}

/**
 * TF-Serving builds the tensorflow platform's SessionBundleConfig from these flags only when
 * --platform_config_file is empty. (The warmup flags still reach duoserve's other platforms.)
 */
function flagsIgnoredWithPlatformConfig(flags: ServerFlags): string[] {
  if (flags.platformConfigFile === '') return [];
  const set: Array<[string, boolean]> = [
    ['--tensorflow_session_config_file', flags.tensorflowSessionConfigFile !== ''],
    ['--tensorflow_session_parallelism', flags.tensorflowSessionParallelism !== 0],
    ['--tensorflow_intra_op_parallelism', flags.tensorflowIntraOpParallelism !== 0],
    ['--tensorflow_inter_op_parallelism', flags.tensorflowInterOpParallelism !== 0],
    ['--saved_model_tags', flags.savedModelTags.join(',') !== 'serve'],
    ['--mixed_precision', flags.mixedPrecision !== ''],
    ['--remove_unused_fields_from_bundle_metagraph', !flags.removeUnusedFieldsFromBundleMetagraph],
    ['--prefer_tflite_model', flags.preferTfLiteModel],
    ['--num_tflite_pools', flags.numTfLitePools !== FLAGS_BY_NAME.get('num_tflite_pools')!.defaultValue],
  ];
  return set.filter(([, given]) => given).map(([name]) => name);
}

/** Whether to start the REST API: a non-zero port that differs from the gRPC one (as TF-Serving decides). */
export function restApiEnabled(flags: ServerFlags): boolean {
  return flags.restApiPort !== 0 && flags.restApiPort !== flags.port;
}

/**
 * A flag that promises protection never degrades silently: duoserve has no ALTS, so a server
 * asked for it refuses to start instead of serving plaintext; HTTPS for REST needs the
 * certificate that --ssl_config_file names. TF-Serving's own check (both set) comes first, in
 * its words.
 */
function checkTransportSecurityFlags(flags: ServerFlags): void {
  if (flags.useAltsCredentials && flags.sslConfigFile !== '') {
    throw new ConfigError('Either use_alts_credentials must be false or ssl_config_file must be empty.');
  }
  if (flags.useAltsCredentials) {
    throw new ConfigError(
      '--use_alts_credentials is set, but duoserve has no ALTS, and it refuses to start rather than serve ' +
        'plaintext: use --ssl_config_file, or secure the traffic in front of it (a service mesh), and remove the flag.',
    );
  }
  if (flags.restApiSsl && flags.sslConfigFile === '') {
    throw new ConfigError('--duoserve_rest_api_ssl needs --ssl_config_file (the key and certificate it serves)');
  }
}
