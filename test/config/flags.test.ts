import assert from 'node:assert/strict';
import * as os from 'node:os';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/config/config_error';
import { checkServerFlags, restApiEnabled } from '../../src/config/flag_checks';
import { FLAG_LIST } from '../../src/config/flag_list';
import { parseFlags, ServerFlags, usage } from '../../src/config/flags';

const cpus = os.availableParallelism();

function parseError(argv: string[]): string {
  try {
    parseFlags(argv);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return error.message;
  }
  assert.fail(`parseFlags(${JSON.stringify(argv)}) did not throw`);
}

describe('parseFlags', () => {
  test('no arguments: TF-Serving defaults', () => {
    assert.deepEqual(parseFlags([]), {
      flags: {
        port: 8500,
        grpcSocketPath: '',
        restApiPort: 0,
        restApiNumThreads: 4 * cpus,
        restApiTimeoutInMs: 30000,
        restApiEnableCorsSupport: false,
        enableBatching: false,
        batchingParametersFile: '',
        enablePerModelBatchingParameters: false,
        modelConfigFile: '',
        modelConfigFilePollWaitSeconds: 0,
        modelName: 'default',
        modelBasePath: '',
        fileSystemPollWaitSeconds: 1,
        numLoadThreads: 0,
        numUnloadThreads: 0,
        maxNumLoadRetries: 5,
        loadRetryIntervalMicros: 60_000_000,
        allowVersionLabelsForUnavailableModels: false,
        versionPolicy: 'availability_preserving',
        tensorflowIntraOpParallelism: 0,
        tensorflowInterOpParallelism: 0,
        tensorflowSessionParallelism: 0,
        tensorflowSessionConfigFile: '',
        platformConfigFile: '',
        xlaCpuCompilationEnabled: false,
        xlaGpuCompilationEnabled: false,
        flushFilesystemCaches: true,
        enableSerializationAsTensorContent: false,
        mixedPrecision: '',
        removeUnusedFieldsFromBundleMetagraph: true,
        savedModelTags: ['serve'],
        preferTfLiteModel: false,
        numTfLitePools: os.availableParallelism(),
        grpcChannelArguments: {},
        grpcMaxThreads: 4 * cpus,
        enableModelWarmup: true,
        numRequestIterationsForWarmup: 0,
        version: false,
        monitoringConfigFile: '',
        enableGrpcHealthcheckService: false,
        enableSignatureMethodNameCheck: false,
        useAltsCredentials: false,
        sslConfigFile: '',
        shutdownGracePeriodSeconds: 25,
        restMaxBodyBytes: 64 * 1024 * 1024,
        maxQueuedRequestsPerModel: 100,
        grpcListenAddress: '0.0.0.0',
        restListenAddress: '0.0.0.0',
        restApiSsl: false,
        reloadConfigRpc: 'all',
        torchIntraOpThreads: 0,
        torchInterOpThreads: 0,
        logFormat: 'text',
        requestLogMaxFileBytes: 128 * 1024 * 1024,
        requestLogMaxFileRecords: 0,
        requestLogBufferBytes: 16 * 1024 * 1024,
      } satisfies ServerFlags,
      warnings: [],
      given: new Set(),
    });
  });

  test('every supported flag', () => {
    const { flags, warnings } = parseFlags([
      '--port=9000',
      '--enable_batching',
      '--batching_parameters_file=/etc/batching.config',
      '--enable_per_model_batching_parameters',
      '--grpc_socket_path=/tmp/duoserve.sock',
      '--rest_api_port=9001',
      '--rest_api_timeout_in_ms=500',
      '--rest_api_enable_cors_support',
      '--model_config_file=/etc/models.config',
      '--model_config_file_poll_wait_seconds=60',
      '--model_name=resnet',
      '--model_base_path=/models/resnet',
      '--file_system_poll_wait_seconds=0',
      '--num_load_threads=4',
      '--num_unload_threads=3',
      '--max_num_load_retries=0',
      '--load_retry_interval_micros=-1',
      '--allow_version_labels_for_unavailable_models',
      '--duoserve_version_policy=resource_preserving',
      '--tensorflow_intra_op_parallelism=2',
      '--tensorflow_inter_op_parallelism=9007199254740991',
      '--tensorflow_session_parallelism=5',
      '--tensorflow_session_config_file=/etc/session.config',
      '--platform_config_file=/etc/platform.config',
      '--xla_cpu_compilation_enabled',
      '--xla_gpu_compilation_enabled=true',
      '--flush_filesystem_caches=false',
      '--enable_serialization_as_tensor_content',
      '--mixed_precision=bfloat16',
      '--remove_unused_fields_from_bundle_metagraph=false',
      '--saved_model_tags=serve,gpu',
      '--prefer_tflite_model',
      '--num_tflite_pools=3',
      '--grpc_channel_arguments=grpc.max_connection_age_ms=2000,grpc.primary_user_agent=duo',
      '--grpc_max_threads=7',
      '--enable_model_warmup=false',
      '--num_request_iterations_for_warmup=3',
      '--enable_grpc_healthcheck_service',
      '--enable_signature_method_name_check=true',
      '--use_alts_credentials',
      '--ssl_config_file=/etc/ssl.config',
      '--duoserve_shutdown_grace_period_seconds=5',
      '--duoserve_rest_max_body_bytes=1048576',
      '--duoserve_max_queued_requests_per_model=7',
      '--duoserve_grpc_listen_address=::1',
      '--duoserve_rest_listen_address=127.0.0.1',
      '--duoserve_rest_api_ssl',
      '--duoserve_reload_config_rpc=socket_only',
      '--duoserve_torch_intra_op_threads=3',
      '--duoserve_torch_inter_op_threads=2',
      '--duoserve_log_format=json',
      '--duoserve_request_log_max_file_bytes=4096',
      '--duoserve_request_log_max_file_records=10',
      '--duoserve_request_log_buffer_bytes=8192',
    ]);
    assert.deepEqual(warnings, []);
    assert.deepEqual(flags, {
      port: 9000,
      grpcSocketPath: '/tmp/duoserve.sock',
      restApiPort: 9001,
      restApiNumThreads: 4 * os.availableParallelism(),
      restApiTimeoutInMs: 500,
      restApiEnableCorsSupport: true,
      enableBatching: true,
      batchingParametersFile: '/etc/batching.config',
      enablePerModelBatchingParameters: true,
      modelConfigFile: '/etc/models.config',
      modelConfigFilePollWaitSeconds: 60,
      modelName: 'resnet',
      modelBasePath: '/models/resnet',
      fileSystemPollWaitSeconds: 0,
      numLoadThreads: 4,
      numUnloadThreads: 3,
      maxNumLoadRetries: 0,
      loadRetryIntervalMicros: -1,
      allowVersionLabelsForUnavailableModels: true,
      versionPolicy: 'resource_preserving',
      tensorflowIntraOpParallelism: 2,
      tensorflowInterOpParallelism: 9007199254740991,
      tensorflowSessionParallelism: 5,
      tensorflowSessionConfigFile: '/etc/session.config',
      platformConfigFile: '/etc/platform.config',
      xlaCpuCompilationEnabled: true,
      xlaGpuCompilationEnabled: true,
      flushFilesystemCaches: false,
      enableSerializationAsTensorContent: true,
      mixedPrecision: 'bfloat16',
      removeUnusedFieldsFromBundleMetagraph: false,
      savedModelTags: ['serve', 'gpu'],
      preferTfLiteModel: true,
      numTfLitePools: 3,
      grpcChannelArguments: { 'grpc.max_connection_age_ms': 2000, 'grpc.primary_user_agent': 'duo' },
      grpcMaxThreads: 7,
      enableModelWarmup: false,
      numRequestIterationsForWarmup: 3,
      version: false,
      monitoringConfigFile: '',
      enableGrpcHealthcheckService: true,
      enableSignatureMethodNameCheck: true,
      useAltsCredentials: true,
      sslConfigFile: '/etc/ssl.config',
      shutdownGracePeriodSeconds: 5,
      restMaxBodyBytes: 1048576,
      maxQueuedRequestsPerModel: 7,
      grpcListenAddress: '::1',
      restListenAddress: '127.0.0.1',
      restApiSsl: true,
      reloadConfigRpc: 'socket_only',
      torchIntraOpThreads: 3,
      torchInterOpThreads: 2,
      logFormat: 'json',
      requestLogMaxFileBytes: 4096,
      requestLogMaxFileRecords: 10,
      requestLogBufferBytes: 8192,
    } satisfies ServerFlags);
  });

  test('given: the flags the command line set, even to their default', () => {
    const { given } = parseFlags(['--grpc_max_threads=8', '--port=8500', '--enable_batching=false']);
    assert.deepEqual([...given].sort(), ['enable_batching', 'grpc_max_threads', 'port']);
  });

  test('bool flags: bare, true/false in any case, 1/0', () => {
    const batching = (arg: string) => parseFlags([arg]).flags.enableBatching;
    assert.equal(batching('--enable_batching'), true);
    assert.equal(batching('--enable_batching=true'), true);
    assert.equal(batching('--enable_batching=TRUE'), true);
    assert.equal(batching('--enable_batching=1'), true);
    assert.equal(batching('--enable_batching=False'), false);
    assert.equal(batching('--enable_batching=0'), false);
    assert.equal(parseFlags(['--version']).flags.version, true);
  });

  test('integers: decimal with a sign, surrounding whitespace allowed', () => {
    assert.equal(parseFlags(['--port=+9000']).flags.port, 9000);
    assert.equal(parseFlags(['--port= 9000 ']).flags.port, 9000);
    assert.equal(parseFlags(['--file_system_poll_wait_seconds=-1']).flags.fileSystemPollWaitSeconds, -1);
    assert.equal(parseFlags(['--port=2147483647']).flags.port, 2147483647);
  });

  test('strings keep the value as given, empty included', () => {
    assert.equal(parseFlags(['--model_name=']).flags.modelName, '');
    assert.equal(parseFlags(['--model_base_path=/a=b c']).flags.modelBasePath, '/a=b c');
  });

  test('a repeated flag: the last one wins', () => {
    assert.equal(parseFlags(['--port=1', '--port=2']).flags.port, 2);
  });

  test('values that do not fit the flag type are errors, reported as TF does, with the usage', () => {
    for (const [arg, text] of [
      ['--port=abc', 'abc'],
      ['--port=', ''],
      ['--port=1.5', '1.5'],
      ['--port=0x10', '0x10'],
      ['--port=2147483648', '2147483648'],
      ['--tensorflow_intra_op_parallelism=9223372036854775808', '9223372036854775808'],
      ['--enable_batching=yes', 'yes'],
      ['--per_process_gpu_memory_fraction=half', 'half'],
    ]) {
      const name = arg.slice(2, arg.indexOf('='));
      const message = parseError([arg]);
      assert.ok(message.startsWith(`Couldn't interpret value ${text} for flag ${name}.\nusage: duoserve\n`), message);
    }
    const both = parseError(['--port=x', '--rest_api_port=y']);
    assert.match(both, /flag port\.\nCouldn't interpret value y for flag rest_api_port\./);
  });

  test('unknown arguments are errors naming the first one, with the usage', () => {
    assert.match(parseError(['--model_nmae=x']), /^unknown argument: --model_nmae=x\nusage: duoserve\nFlags:\n/);
    assert.match(parseError(['-port=9000']), /^unknown argument: -port=9000\n/);
    assert.match(parseError(['serve']), /^unknown argument: serve\n/);
    assert.match(parseError(['--enable_batchingX']), /^unknown argument: --enable_batchingX\n/);
    assert.match(parseError(['--port=1', '--', '--port=2']), /^unknown argument: --\n/);
  });

  test('`--name value` is not a flag form: TF leaves both words unparsed', () => {
    assert.match(parseError(['--port', '9000']), /^unknown argument: --port \(write --port=VALUE\)\n/);
    assert.match(parseError(['--enable_batching', 'true']), /^unknown argument: true\n/);
  });

  test('--help answers the usage', () => {
    assert.equal(parseError(['--help']), usage());
  });

  test('--version skips the leftover check, as TF-Serving prints the version first', () => {
    const { flags } = parseFlags(['--version', 'extra']);
    assert.equal(flags.version, true);
  });

  test('known but unsupported flags: a warning when not at their default', () => {
    assert.deepEqual(
      parseFlags([
        '--per_process_gpu_memory_fraction=0.5',
        '--enable_profiler=false',
        '--skip_initialize_tpu',
        '--rest_api_num_threads=3',
      ]).warnings,
      [
        '--rest_api_num_threads=3 is not supported by duoserve yet and is ignored',
        '--per_process_gpu_memory_fraction=0.500000 is not supported by duoserve yet and is ignored',
        '--enable_profiler=false is not supported by duoserve yet and is ignored',
        '--skip_initialize_tpu=true is not supported by duoserve yet and is ignored',
      ],
    );
    assert.deepEqual(
      parseFlags(['--enable_profiler=true', '--max_num_load_retries=5', '--per_process_gpu_memory_fraction=0'])
        .warnings,
      [],
    );
  });

  test('every flag tensorflow_model_server knows is accepted at its default, without warnings', () => {
    assert.equal(FLAG_LIST.length, 62); // 48 of tensorflow_model_server, then 14 duoserve_* flags
    const argv = FLAG_LIST.map((spec) => `--${spec.name}=${spec.defaultValue}`);
    assert.deepEqual(parseFlags(argv).warnings, []);
  });

  test('--grpc_channel_arguments: numbers that fit an int32 become numbers', () => {
    const args = (text: string) => parseFlags([`--grpc_channel_arguments=${text}`]).flags.grpcChannelArguments;
    assert.deepEqual(args('a=1,b=-2,c=2147483648,d=x,e=1.5,f=a=b,'), {
      a: 1,
      b: -2,
      c: '2147483648',
      d: 'x',
      e: '1.5',
      f: 'a=b',
    });
    assert.throws(() => args('grpc.keepalive'), /expected key=value, got 'grpc\.keepalive'/);
    assert.throws(() => args('=5'), ConfigError);
  });
});

describe('usage', () => {
  test("TF's layout: a header, then `\\t--name=default\\ttype\\thelp` per flag", () => {
    const lines = usage().split('\n');
    assert.equal(lines[0], 'usage: duoserve');
    assert.equal(lines[1], 'Flags:');
    assert.equal(lines.length, 2 + FLAG_LIST.length + 1);
    assert.match(lines[2], /^\t--port=8500 {22}\tint32\t\S/);
    assert.ok(lines.some((line) => line.startsWith('\t--model_name="default"')));
    assert.ok(lines.some((line) => line.startsWith('\t--per_process_gpu_memory_fraction=0.000000\tfloat\t')));
    assert.ok(lines.some((line) => line.startsWith('\t--enable_model_warmup=true') && line.includes('\tbool\t')));
    assert.ok(
      lines.some(
        (line) =>
          line.startsWith('\t--per_process_gpu_memory_fraction=') &&
          line.endsWith('(not supported by duoserve yet: ignored)'),
      ),
    );
    assert.equal(usage('tensorflow_model_server').split('\n')[0], 'usage: tensorflow_model_server');
  });
});

describe('checkServerFlags', () => {
  const flags = (argv: string[]) => parseFlags(argv).flags;

  test('with --platform_config_file, the TensorFlow session flags are named as ignored', () => {
    const withPlatformConfig = ['--model_base_path=/m', '--platform_config_file=/etc/platform.config'];
    assert.deepEqual(checkServerFlags(flags(withPlatformConfig)), []);
    assert.deepEqual(
      checkServerFlags(
        flags([...withPlatformConfig, '--tensorflow_session_parallelism=2', '--saved_model_tags=serve,tpu']),
      ),
      [
        '--tensorflow_session_parallelism, --saved_model_tags ignored: with --platform_config_file, the tensorflow ' +
          "platform's session settings come from that file (as in TF-Serving)",
      ],
    );
    assert.deepEqual(checkServerFlags(flags(['--model_base_path=/m', '--tensorflow_session_parallelism=2'])), []);
  });

  test('a model path or a config file is enough', () => {
    assert.deepEqual(checkServerFlags(flags(['--model_base_path=/models/m'])), []);
    assert.deepEqual(checkServerFlags(flags(['--model_config_file=/etc/models.config'])), []);
  });

  test('the combinations TF-Serving refuses', () => {
    const refusal = (argv: string[]) => {
      try {
        checkServerFlags(flags(argv));
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.message;
      }
      assert.fail(`${argv.join(' ')} was accepted`);
    };
    assert.equal(refusal([]), 'Both server_options.model_base_path and server_options.model_config_file are empty!');
    assert.equal(
      refusal(['--port=0', '--model_base_path=/m']),
      'At least one of server_options.grpc_port or server_options.grpc_socket_path must be set.',
    );
    assert.equal(
      refusal(['--model_base_path=/m', '--batching_parameters_file=/b']),
      'server_options.batching_parameters_file is set without setting server_options.enable_batching to true.',
    );
    // gRPC on the socket alone is fine, as in TF-Serving.
    assert.deepEqual(checkServerFlags(flags(['--port=0', '--grpc_socket_path=/tmp/s', '--model_base_path=/m'])), []);
    assert.deepEqual(
      checkServerFlags(flags(['--model_base_path=/m', '--batching_parameters_file=/b', '--enable_batching'])),
      [],
    );
  });

  test('--grpc_socket_path: at most the 107 bytes a sun_path holds, counted in bytes', () => {
    const socketPath = (bytes: number) => `/tmp/${'s'.repeat(bytes - 5)}`;
    assert.deepEqual(checkServerFlags(flags(['--model_base_path=/m', `--grpc_socket_path=${socketPath(107)}`])), []);
    assert.throws(
      () => checkServerFlags(flags(['--model_base_path=/m', `--grpc_socket_path=${socketPath(108)}`])),
      /^ConfigError: --grpc_socket_path is 108 bytes long; a Unix socket path may have at most 107 \(sun_path\)/,
    );
    const multiByte = `/tmp/${'é'.repeat(52)}`; // 57 characters, 109 bytes
    assert.throws(
      () => checkServerFlags(flags(['--model_base_path=/m', `--grpc_socket_path=${multiByte}`])),
      /is 109 bytes long/,
    );
  });

  test('--duoserve_version_policy names one of the two policies', () => {
    assert.throws(
      () => checkServerFlags(flags(['--model_base_path=/m', '--duoserve_version_policy=eager'])),
      /--duoserve_version_policy must be one of availability_preserving, resource_preserving; got eager/,
    );
    const resourcePreserving = flags(['--model_base_path=/m', '--duoserve_version_policy=resource_preserving']);
    assert.deepEqual(checkServerFlags(resourcePreserving), []);
  });

  test('the REST port equal to the gRPC port: a warning, and no REST API', () => {
    const same = flags(['--model_base_path=/m', '--port=9000', '--rest_api_port=9000']);
    assert.deepEqual(checkServerFlags(same), [
      'server_options.http_port cannot be same as grpc_port. Please use a different port for HTTP/REST API. ' +
        'Skipped exporting HTTP/REST API.',
    ]);
    assert.equal(restApiEnabled(same), false);
    assert.equal(restApiEnabled(flags(['--rest_api_port=8501'])), true);
    assert.equal(restApiEnabled(flags([])), false);
  });
});
