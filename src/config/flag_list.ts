/**
 * Every flag tensorflow_model_server (2.x, model_servers/main.cc + server.h) knows, in its order,
 * with its type and default, then duoserve's own (named duoserve_*). `supported: false` flags are
 * accepted so that existing command lines keep working, and produce a warning when set to anything
 * but their default.
 */
import { schedulableCpus } from './schedulable_cpus';

export type FlagType = 'int32' | 'int64' | 'bool' | 'string' | 'float';
export type FlagValue = number | boolean | string;

export interface FlagSpec {
  readonly name: string;
  readonly type: FlagType;
  readonly defaultValue: FlagValue;
  readonly help: string;
  readonly supported: boolean;
}

/** TF-Serving's port::NumSchedulableCPUs() (the CPUs this process may run on), within its CPU quota. */
const cpus = schedulableCpus();

const flag = (name: string, type: FlagType, defaultValue: FlagValue, supported: boolean, help: string): FlagSpec => ({
  name,
  type,
  defaultValue,
  supported,
  help,
});

// One flag a line (long help texts wrap after `supported`), as a table to read down.
// prettier-ignore
export const FLAG_LIST: readonly FlagSpec[] = [
  flag('port', 'int32', 8500, true, 'TCP port of the gRPC API.'),
  flag('grpc_socket_path', 'string', '', true, 'If set, also serve gRPC on this UNIX socket path.'),
  flag('rest_api_port', 'int32', 0, true, 'TCP port of the HTTP/REST API; 0 disables it. Must differ from --port.'),
  // REST runs on the event loop, large bodies on a worker pool sized by measurement (src/server/rest/): warned.
  flag('rest_api_num_threads', 'int32', 4 * cpus, false, 'Threads for HTTP/REST processing (default: 4 per CPU).'),
  flag('rest_api_timeout_in_ms', 'int32', 30000, true, 'Timeout of an HTTP/REST call, in milliseconds.'),
  flag('rest_api_enable_cors_support', 'bool', false, true, 'Add CORS headers to HTTP/REST responses.'),
  flag('enable_batching', 'bool', false, true,
    'Batch concurrent requests to each TensorFlow and PyTorch model version (src/batching/).'),
  flag('allow_version_labels_for_unavailable_models', 'bool', false, true,
    'Allow a new version label (or one that keeps its version) to name a version that is not AVAILABLE yet.'),
  flag('batching_parameters_file', 'string', '', true,
    'Text-format BatchingParameters file (needs --enable_batching); without it, TF-Serving\'s defaults.'),
  flag('enable_per_model_batching_parameters', 'bool', false, true,
    'Batch each version by the batching_params.pbtxt in its directory; a version without one is not batched.'),
  flag('model_config_file', 'string', '', true,
    'Text-format ModelServerConfig listing the models to serve; --model_name and --model_base_path are then ignored.'),
  flag('model_config_file_poll_wait_seconds', 'int32', 0, true,
    'Seconds between re-reads of --model_config_file; 0 reads it once.'),
  flag('model_name', 'string', 'default', true, 'Name of the single model (without --model_config_file).'),
  flag('model_base_path', 'string', '', true,
    'Directory holding the single model\'s numbered versions (without --model_config_file).'),
  flag('num_load_threads', 'int32', 0, true, 'Loads that may run at once; 0 loads them one by one.'),
  flag('num_unload_threads', 'int32', 0, true, 'Unloads that may run at once; 0 unloads them one by one.'),
  flag('max_num_load_retries', 'int32', 5, true, 'Retries of a failed load before giving up.'),
  flag('load_retry_interval_micros', 'int64', 60_000_000, true, 'Wait between load retries, in microseconds.'),
  flag('file_system_poll_wait_seconds', 'int32', 1, true,
    'Seconds between scans of each base path for new versions; 0 scans once. A version directory its ' +
      'platform does not recognise is loaded once unchanged for 3 scans (at least 1 s), so its error shows.'),
  // TensorFlow's FileSystem::FlushCaches after loads: only cloud file systems keep caches, and
  // duoserve reads local paths, whose FlushCaches is a no-op in TensorFlow too.
  flag('flush_filesystem_caches', 'bool', true, true,
    'Flush file system caches after loading (a no-op for the local file system, as in TensorFlow).'),
  flag('tensorflow_session_parallelism', 'int64', 0, true,
    'Intra- and inter-op threads of a TensorFlow session, unless the two flags below are set; 0 picks automatically.'),
  flag('tensorflow_session_config_file', 'string', '', true,
    'Text-format tensorflow.ConfigProto for TensorFlow sessions; its thread counts yield to the thread flags.'),
  flag('tensorflow_intra_op_parallelism', 'int64', 0, true, 'Threads inside one TensorFlow op; 0 picks automatically.'),
  flag('tensorflow_inter_op_parallelism', 'int64', 0, true,
    'TensorFlow ops run at the same time; 0 picks automatically.'),
  // duoserve has no ALTS: a flag that promises protection refuses the start (flag_checks.ts).
  flag('use_alts_credentials', 'bool', false, true,
    'Use Google ALTS credentials for gRPC (duoserve has none: it refuses to start with this set).'),
  flag('ssl_config_file', 'string', '', true,
    'Text-format SSLConfig (PEM server_key, server_cert, custom_ca; client_verify) securing the gRPC port and ' +
      'socket with TLS; client_verify requires client certificates signed by custom_ca.'),
  flag('platform_config_file', 'string', '', true,
    'Text-format PlatformConfigMap replacing the default platforms (the TensorFlow session, tag and warmup ' +
      'settings then come from it).'),
  flag('per_process_gpu_memory_fraction', 'float', 0, false, 'Share of GPU memory TensorFlow takes (0: automatic).'),
  flag('saved_model_tags', 'string', 'serve', true, 'Comma-separated tags of the SavedModel MetaGraph to load.'),
  flag('grpc_channel_arguments', 'string', '', true,
    'Comma-separated key=value gRPC server arguments, e.g. grpc.max_connection_age_ms=2000.'),
  // Bounds the runs that execute at once (libuv's pool), as TF-Serving's gRPC threads each carry one
  // run; left out, the thread budget picks (src/config/thread_budget.ts).
  flag('grpc_max_threads', 'int32', 4 * cpus, true,
    'Most requests running at once (TF-Serving: gRPC server threads; unset: one per CPU, at least 2: the thread budget).'),
  flag('enable_model_warmup', 'bool', true, true, 'Replay assets.extra/tf_serving_warmup_requests after a load.'),
  flag('num_request_iterations_for_warmup', 'int32', 0, true,
    'Times each warmup request is replayed; 0 or less replays it once.'),
  flag('version', 'bool', false, true, 'Print the version and exit.'),
  flag('monitoring_config_file', 'string', '', true, 'Text-format MonitoringConfig (Prometheus endpoint).'),
  flag('remove_unused_fields_from_bundle_metagraph', 'bool', true, true,
    'Drop MetaGraphDef fields serving does not use.'),
  flag('prefer_tflite_model', 'bool', false, true,
    'Serve a version directory\'s model.tflite (through LiteRT) instead of its SavedModel when it has one.'),
  flag('num_tflite_pools', 'int32', cpus, true, 'Requests that may run at once on one TFLite model (one interpreter each).'),
  flag('num_tflite_interpreters_per_pool', 'int32', 1, false,
    'TFLite interpreters per pool; above 1, TF-Serving splits and batches requests across them (duoserve does not).'),
  flag('enable_signature_method_name_check', 'bool', false, true, 'Check SignatureDef method names.'),
  flag('xla_cpu_compilation_enabled', 'bool', false, true,
    'Let TensorFlow JIT-compile with XLA:CPU; without it a model that needs XLA fails on its first run.'),
  flag('xla_gpu_compilation_enabled', 'bool', false, true,
    'Enable XLA:CPU and XLA:GPU JIT compilation (on duoserve, which has no GPU device, XLA:CPU).'),
  flag('enable_profiler', 'bool', true, false, 'Serve the TensorFlow profiler service.'),
  flag('thread_pool_factory_config_file', 'string', '', false, 'Text-format ThreadPoolConfig.'),
  flag('mixed_precision', 'string', '', true,
    'Mixed precision mode of TensorFlow sessions: "bfloat16" (oneDNN auto mixed precision, where the CPU has it).'),
  flag('skip_initialize_tpu', 'bool', false, false, 'Do not initialize the TPU system.'),
  flag('enable_grpc_healthcheck_service', 'bool', false, true,
    'Serve the standard gRPC health checking service (grpc.health.v1.Health).'),
  flag('enable_serialization_as_tensor_content', 'bool', false, true,
    'Answer Predict with tensor_content instead of typed fields.'),
  // duoserve's own flags: what TF-Serving configures in code rather than on its command line.
  flag('duoserve_version_policy', 'string', 'availability_preserving', true,
    'Order of loads and unloads within a model: availability_preserving (TF-Serving\'s choice: the new ' +
      'version is AVAILABLE before the old one unloads) or resource_preserving (the old one unloads first).'),
  flag('duoserve_shutdown_grace_period_seconds', 'int32', 25, true,
    'On SIGTERM or SIGINT, seconds that requests already running get to finish while new ones are refused ' +
      '(gRPC UNAVAILABLE, HTTP 503); then the server stops. A second signal stops it at once.'),
  // 100: TorchServe's default job_queue_size (src/server/model_queue_bound.ts says why).
  flag('duoserve_max_queued_requests_per_model', 'int32', 100, true,
    'Inference requests one model may have waiting or running at once (each counts once; a chain\'s steps count ' +
      'against the chain only); beyond them a request is answered UNAVAILABLE (HTTP 503) at once. 0: unbounded.'),
  flag('duoserve_rest_max_body_bytes', 'int64', 64 * 1024 * 1024, true,
    'Largest HTTP/REST request body, in bytes; a larger one is answered 413.'),
  flag('duoserve_grpc_listen_address', 'string', '0.0.0.0', true,
    'Address the gRPC port listens on (e.g. 127.0.0.1, ::); --grpc_socket_path is unaffected.'),
  flag('duoserve_rest_listen_address', 'string', '0.0.0.0', true, 'Address the HTTP/REST port listens on.'),
  flag('duoserve_rest_api_ssl', 'bool', false, true,
    'Serve the REST port (the probes too) over HTTPS with --ssl_config_file\'s key and certificate, and with ' +
      'its client_verify; TF-Serving\'s REST port is plaintext only.'),
  flag('duoserve_torch_intra_op_threads', 'int32', 0, true,
    'Threads one PyTorch op may use (libtorch\'s at::set_num_threads, process-wide); 0 takes the thread ' +
      'budget\'s: the CPUs beside the JS thread per concurrent run, at least 1.'),
  flag('duoserve_torch_inter_op_threads', 'int32', 0, true,
    'Threads of libtorch\'s inter-op pool (torch.jit.fork; at::set_num_interop_threads, process-wide); 0 takes ' +
      'the thread budget\'s: 1.'),
  flag('duoserve_reload_config_rpc', 'string', 'all', true,
    'Where ModelService/HandleReloadConfigRequest is accepted: all (TF-Serving\'s behaviour), socket_only ' +
      '(only over --grpc_socket_path; on TCP it is PERMISSION_DENIED) or off (UNIMPLEMENTED everywhere).'),
  flag('duoserve_log_format', 'string', 'text', true,
    'The server\'s own log lines on stderr: text (severity, time, message) or json (one object a line: ' +
      'time, severity, message).'),
  flag('duoserve_request_log_max_file_bytes', 'int64', 128 * 1024 * 1024, true,
    'Request logs (logging_config): a file is closed, and the next one started, once it holds this many bytes.'),
  flag('duoserve_request_log_max_file_records', 'int64', 0, true,
    'Request logs: ... or once it holds this many records; 0: no limit.'),
  flag('duoserve_request_log_buffer_bytes', 'int64', 16 * 1024 * 1024, true,
    'Request logs: bytes of records that may wait for the disk per log; beyond them records are dropped ' +
      '(duoserve_request_log_dropped_records_total) rather than make requests wait.'),
];

export const FLAGS_BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAG_LIST.map((spec) => [spec.name, spec]));
