/**
 * tensorflow_model_server's command line, parsed the way TensorFlow's flag parser
 * (tsl/util/command_line_flags.cc) does it:
 * - `--name=value` only; `--name value` is not a flag (the parser leaves both words unparsed);
 * - a bool flag may also stand bare (`--enable_batching`), and its value is true/false in any
 *   case, or 1/0;
 * - integers are decimal with an optional sign and must fit the flag's int32/int64;
 * - a repeated flag: the last one wins; everything after a lone `--` is left unparsed.
 * Differences from TF-Serving, on purpose: a leftover (unknown) argument is an error here, where
 * TF-Serving prints "unknown argument" with the usage and starts anyway.
 */
import { ConfigError, UsageError } from './config_error';
import { FLAG_LIST, FLAGS_BY_NAME, FlagSpec, FlagValue } from './flag_list';

/** The flags duoserve acts on, typed, with TF-Serving's defaults. */
export interface ServerFlags {
  /** --port: gRPC port. */
  port: number;
  grpcSocketPath: string;
  /** --rest_api_port: 0 means no REST API. */
  restApiPort: number;
  restApiNumThreads: number;
  restApiTimeoutInMs: number;
  /** --rest_api_enable_cors_support: TF-Serving's CORS headers on every /v1/ response. */
  restApiEnableCorsSupport: boolean;
  enableBatching: boolean;
  batchingParametersFile: string;
  /** --enable_per_model_batching_parameters: each version's batching_params.pbtxt, none: not batched. */
  enablePerModelBatchingParameters: boolean;
  /** --model_config_file: when non-empty, --model_name and --model_base_path are ignored. */
  modelConfigFile: string;
  /** 0: the config file is read once. */
  modelConfigFilePollWaitSeconds: number;
  modelName: string;
  modelBasePath: string;
  /** 0: each base path is scanned once; negative: never (TF-Serving reserves it for tests). */
  fileSystemPollWaitSeconds: number;
  /** Loads that may run at once; 0: one at a time. */
  numLoadThreads: number;
  /** Unloads that may run at once; 0: one at a time. */
  numUnloadThreads: number;
  maxNumLoadRetries: number;
  /** Negative: retry at once. */
  loadRetryIntervalMicros: number;
  allowVersionLabelsForUnavailableModels: boolean;
  /** --duoserve_version_policy, checked by checkServerFlags. */
  versionPolicy: string;
  /** 0: automatic. */
  tensorflowIntraOpParallelism: number;
  tensorflowInterOpParallelism: number;
  /** Both thread counts, when neither of the two above is set. */
  tensorflowSessionParallelism: number;
  /** Text-format ConfigProto; '' for none. */
  tensorflowSessionConfigFile: string;
  /** Text-format PlatformConfigMap replacing the default platforms; '' for none. */
  platformConfigFile: string;
  xlaCpuCompilationEnabled: boolean;
  /** Enables XLA:CPU too (TF-Serving's flag enables both JITs; a CPU server has only the one). */
  xlaGpuCompilationEnabled: boolean;
  /** Accepted as TF-Serving's; a no-op for the local file system duoserve reads (see flag_list.ts). */
  flushFilesystemCaches: boolean;
  /** Keep only the signature_def of each loaded MetaGraphDef (default true, as TF-Serving). */
  removeUnusedFieldsFromBundleMetagraph: boolean;
  /** "bfloat16": oneDNN bfloat16 auto mixed precision for TensorFlow sessions; other values are warned about. */
  mixedPrecision: string;
  /** Predict answers with tensor_content instead of the typed value fields. */
  enableSerializationAsTensorContent: boolean;
  /** --saved_model_tags split at commas, as TF-Serving splits it. */
  savedModelTags: string[];
  preferTfLiteModel: boolean;
  numTfLitePools: number;
  /** --grpc_channel_arguments: values that read as an int32 are numbers, as TF-Serving passes them. */
  grpcChannelArguments: Record<string, string | number>;
  grpcMaxThreads: number;
  /** --enable_model_warmup: replay <version>/assets.extra/tf_serving_warmup_requests before serving it. */
  enableModelWarmup: boolean;
  /** Times each warmup record is replayed; TF-Serving uses the value only when > 0 (else once). */
  numRequestIterationsForWarmup: number;
  /** --version: print the version and exit; other checks are skipped. */
  version: boolean;
  monitoringConfigFile: string;
  /** --enable_grpc_healthcheck_service: serve grpc.health.v1.Health beside the serving APIs. */
  enableGrpcHealthcheckService: boolean;
  /** Classify/Regress accept only signatures whose method_name says so (off: shape checks only). */
  enableSignatureMethodNameCheck: boolean;
  /** --use_alts_credentials: refused by checkServerFlags (no ALTS). */
  useAltsCredentials: boolean;
  /** --ssl_config_file: TLS for the gRPC listeners ('' for none). */
  sslConfigFile: string;
  /** --duoserve_rest_api_ssl: TLS for the REST port too (needs sslConfigFile). */
  restApiSsl: boolean;
  /** --duoserve_shutdown_grace_period_seconds: how long a SIGTERM waits for running requests. */
  shutdownGracePeriodSeconds: number;
  /** --duoserve_rest_max_body_bytes: a larger HTTP body is answered 413. */
  restMaxBodyBytes: number;
  /** --duoserve_max_queued_requests_per_model (src/server/model_queue_bound.ts); 0: unbounded. */
  maxQueuedRequestsPerModel: number;
  grpcListenAddress: string;
  restListenAddress: string;
  /** --duoserve_reload_config_rpc, checked by checkServerFlags. */
  reloadConfigRpc: string;
  /** libtorch's process-wide thread counts; 0: the thread budget's (src/config/thread_budget.ts). */
  torchIntraOpThreads: number;
  torchInterOpThreads: number;
  /** --duoserve_log_format: 'text' or 'json' (checked by checkServerFlags). */
  logFormat: string;
  /** --duoserve_request_log_*: request logs' file rotation and buffer (tfrecord_log_collector.ts). */
  requestLogMaxFileBytes: number;
  requestLogMaxFileRecords: number;
  requestLogBufferBytes: number;
}

export interface ParsedFlags {
  flags: ServerFlags;
  /** One line per known-but-unsupported flag given a non-default value. */
  warnings: string[];
  /** Names of the flags the command line set (whose defaults mean "the server picks" elsewhere). */
  given: ReadonlySet<string>;
}

/** Parses argv without the node and script entries (process.argv.slice(2)). */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  const values = new Map<string, FlagValue>(FLAG_LIST.map((spec) => [spec.name, spec.defaultValue]));
  const valueErrors: string[] = [];
  const leftover: string[] = [];
  const given = new Set<string>();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      leftover.push(...argv.slice(i));
      break;
    }
    const match = matchFlag(arg);
    if (match === undefined) {
      leftover.push(arg);
    } else if ('error' in match) {
      valueErrors.push(match.error);
    } else {
      values.set(match.spec.name, match.value);
      given.add(match.spec.name);
    }
  }

  // TF's Flags::Parse fails on a bad value, or when the first leftover is --help.
  if (valueErrors.length > 0) throw new UsageError(`${valueErrors.join('\n')}\n${usage()}`);
  if (leftover[0] === '--help') throw new UsageError(usage());

  const flags = toServerFlags(values);
  if (flags.version) return { flags, warnings: [], given }; // TF-Serving prints the version before looking at leftovers.
  if (leftover.length > 0) throw new UsageError(`${unknownArgumentMessage(leftover[0])}\n${usage()}`);
  return { flags, warnings: unsupportedFlagWarnings(values), given };
}

/** TF's Flags::Usage layout: one line per flag with its default and type. */
export function usage(program = 'duoserve'): string {
  const lines = FLAG_LIST.map((spec) => {
    const shown = `--${spec.name}=${displayValue(spec, spec.defaultValue)}`;
    const help = spec.supported ? spec.help : `${spec.help} (not supported by duoserve yet: ignored)`;
    return `\t${shown.padEnd(33)}\t${spec.type}\t${help}\n`;
  });
  return `usage: ${program}\nFlags:\n${lines.join('')}`;
}

type FlagMatch = { spec: FlagSpec; value: FlagValue } | { error: string };

function matchFlag(arg: string): FlagMatch | undefined {
  if (!arg.startsWith('--')) return undefined;
  const equals = arg.indexOf('=');
  const name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
  const spec = FLAGS_BY_NAME.get(name);
  if (spec === undefined) return undefined;
  if (equals < 0) {
    // Only a bool flag may stand bare; `--port 9000` leaves `--port` unparsed.
    return spec.type === 'bool' ? { spec, value: true } : undefined;
  }
  const text = arg.slice(equals + 1);
  const value = parseValue(spec, text);
  return value === undefined ? { error: `Couldn't interpret value ${text} for flag ${spec.name}.` } : { spec, value };
}

const INT_RANGE = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
} as const;

function parseValue(spec: FlagSpec, text: string): FlagValue | undefined {
  switch (spec.type) {
    case 'string':
      return text;
    case 'bool': {
      const lower = text.toLowerCase();
      if (lower === 'true' || text === '1') return true;
      if (lower === 'false' || text === '0') return false;
      return undefined;
    }
    case 'int32':
    case 'int64':
      return parseInteger(text, INT_RANGE[spec.type]);
    case 'float':
      return parseFloat32(text);
  }
}

/** absl::SimpleAtoi: surrounding ASCII whitespace allowed, decimal digits with an optional sign. */
function parseInteger(text: string, [min, max]: readonly [bigint, bigint]): number | undefined {
  const trimmed = trimAscii(text);
  if (!/^[+-]?\d+$/.test(trimmed)) return undefined;
  const value = BigInt(trimmed);
  return value < min || value > max ? undefined : Number(value);
}

/** absl::SimpleAtof, then narrowed to float as the flag's C++ variable is. */
function parseFloat32(text: string): number | undefined {
  const trimmed = trimAscii(text).replace(/^\+/, '');
  if (/^(inf|infinity)$/i.test(trimmed.replace(/^-/, ''))) return trimmed.startsWith('-') ? -Infinity : Infinity;
  if (/^-?nan$/i.test(trimmed)) return NaN;
  if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(trimmed)) return undefined;
  return Math.fround(Number(trimmed));
}

function trimAscii(text: string): string {
  return text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
}

function displayValue(spec: FlagSpec, value: FlagValue): string {
  if (spec.type === 'string') return `"${value}"`;
  if (spec.type === 'float') return (value as number).toFixed(6);
  return String(value);
}

function unknownArgumentMessage(arg: string): string {
  const name = arg.startsWith('--') ? arg.slice(2).split('=')[0] : undefined;
  const spec = name === undefined ? undefined : FLAGS_BY_NAME.get(name);
  const hint = spec !== undefined && !arg.includes('=') ? ` (write --${spec.name}=VALUE)` : '';
  return `unknown argument: ${arg}${hint}`;
}

function unsupportedFlagWarnings(values: ReadonlyMap<string, FlagValue>): string[] {
  return FLAG_LIST.filter((spec) => !spec.supported && !sameValue(values.get(spec.name)!, spec.defaultValue)).map(
    (spec) =>
      `--${spec.name}=${displayValue(spec, values.get(spec.name)!).replace(/^"|"$/g, '')} ` +
      'is not supported by duoserve yet and is ignored',
  );
}

function sameValue(a: FlagValue, b: FlagValue): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function toServerFlags(values: ReadonlyMap<string, FlagValue>): ServerFlags {
  const int = (name: string) => values.get(name) as number;
  const bool = (name: string) => values.get(name) as boolean;
  const str = (name: string) => values.get(name) as string;
  return {
    port: int('port'),
    grpcSocketPath: str('grpc_socket_path'),
    restApiPort: int('rest_api_port'),
    restApiNumThreads: int('rest_api_num_threads'),
    restApiTimeoutInMs: int('rest_api_timeout_in_ms'),
    restApiEnableCorsSupport: bool('rest_api_enable_cors_support'),
    enableBatching: bool('enable_batching'),
    batchingParametersFile: str('batching_parameters_file'),
    enablePerModelBatchingParameters: bool('enable_per_model_batching_parameters'),
    modelConfigFile: str('model_config_file'),
    modelConfigFilePollWaitSeconds: int('model_config_file_poll_wait_seconds'),
    modelName: str('model_name'),
    modelBasePath: str('model_base_path'),
    fileSystemPollWaitSeconds: int('file_system_poll_wait_seconds'),
    numLoadThreads: int('num_load_threads'),
    numUnloadThreads: int('num_unload_threads'),
    maxNumLoadRetries: int('max_num_load_retries'),
    loadRetryIntervalMicros: int('load_retry_interval_micros'),
    allowVersionLabelsForUnavailableModels: bool('allow_version_labels_for_unavailable_models'),
    versionPolicy: str('duoserve_version_policy'),
    tensorflowIntraOpParallelism: int('tensorflow_intra_op_parallelism'),
    tensorflowInterOpParallelism: int('tensorflow_inter_op_parallelism'),
    tensorflowSessionParallelism: int('tensorflow_session_parallelism'),
    tensorflowSessionConfigFile: str('tensorflow_session_config_file'),
    platformConfigFile: str('platform_config_file'),
    xlaCpuCompilationEnabled: bool('xla_cpu_compilation_enabled'),
    xlaGpuCompilationEnabled: bool('xla_gpu_compilation_enabled'),
    flushFilesystemCaches: bool('flush_filesystem_caches'),
    enableSerializationAsTensorContent: bool('enable_serialization_as_tensor_content'),
    mixedPrecision: str('mixed_precision'),
    removeUnusedFieldsFromBundleMetagraph: bool('remove_unused_fields_from_bundle_metagraph'),
    savedModelTags: str('saved_model_tags').split(','),
    preferTfLiteModel: bool('prefer_tflite_model'),
    numTfLitePools: int('num_tflite_pools'),
    grpcChannelArguments: parseGrpcChannelArguments(str('grpc_channel_arguments')),
    grpcMaxThreads: int('grpc_max_threads'),
    enableModelWarmup: bool('enable_model_warmup'),
    numRequestIterationsForWarmup: int('num_request_iterations_for_warmup'),
    version: bool('version'),
    monitoringConfigFile: str('monitoring_config_file'),
    enableGrpcHealthcheckService: bool('enable_grpc_healthcheck_service'),
    enableSignatureMethodNameCheck: bool('enable_signature_method_name_check'),
    useAltsCredentials: bool('use_alts_credentials'),
    sslConfigFile: str('ssl_config_file'),
    shutdownGracePeriodSeconds: int('duoserve_shutdown_grace_period_seconds'),
    restMaxBodyBytes: int('duoserve_rest_max_body_bytes'),
    maxQueuedRequestsPerModel: int('duoserve_max_queued_requests_per_model'),
    grpcListenAddress: str('duoserve_grpc_listen_address'),
    restListenAddress: str('duoserve_rest_listen_address'),
    restApiSsl: bool('duoserve_rest_api_ssl'),
    reloadConfigRpc: str('duoserve_reload_config_rpc'),
    torchIntraOpThreads: int('duoserve_torch_intra_op_threads'),
    torchInterOpThreads: int('duoserve_torch_inter_op_threads'),
    logFormat: str('duoserve_log_format'),
    requestLogMaxFileBytes: int('duoserve_request_log_max_file_bytes'),
    requestLogMaxFileRecords: int('duoserve_request_log_max_file_records'),
    requestLogBufferBytes: int('duoserve_request_log_buffer_bytes'),
  };
}

/**
 * "key=value,key=value" as TF-Serving reads it: a value that parses as an int32 is passed as a
 * number, anything else as a string. Empty entries are skipped; a value may contain '='.
 */
export function parseGrpcChannelArguments(text: string): Record<string, string | number> {
  const result: Record<string, string | number> = {};
  for (const entry of text.split(',')) {
    if (entry === '') continue;
    const equals = entry.indexOf('=');
    if (equals <= 0) {
      throw new ConfigError(`--grpc_channel_arguments: expected key=value, got '${entry}'`);
    }
    const value = entry.slice(equals + 1);
    result[entry.slice(0, equals)] = parseInteger(value, INT_RANGE.int32) ?? value;
  }
  return result;
}
