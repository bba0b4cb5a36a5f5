/**
 * `bin/duoserve`: tensorflow_model_server's command line over duoserve's core, starting
 * the gRPC and REST APIs once every configured model is AVAILABLE (a model whose first load
 * fails stops the start, as in TF-Serving). The config is then replaced by
 * HandleReloadConfigRequest and, with --model_config_file_poll_wait_seconds, by the file.
 */
import type { Server as GrpcServer } from '@grpc/grpc-js';
import {
  describeBatchingParameters,
  readBatchingParametersFile,
  schedulerOptions,
  SERVER_DEFAULT_BATCHING_PARAMETERS,
} from './batching/batching_parameters';
import type { Batching, BatchingSettings } from './batching/batching_platform';
import { SharedBatchScheduler } from './batching/shared_batch_scheduler';
import { UsageError } from './config/config_error';
import {
  checkServerFlags,
  type LogFormatName,
  restApiEnabled,
  type ReloadConfigRpcMode,
  type VersionPolicyName,
} from './config/flag_checks';
import { parseFlags, type ServerFlags } from './config/flags';
import { singleModelConfig, type ModelServerConfig } from './config/model_server_config';
import { describeThreadBudget, threadBudget, type ThreadBudget } from './config/thread_budget';
import { schedulableCpus } from './config/schedulable_cpus';
import { consoleLog, setLogFormat } from './core/log';
import { prometheusPathOf } from './monitoring/monitoring_config';
import type { Manager } from './core/manager';
import { ServingError } from './errors/serving_error';
import type { PlatformOptions } from './platforms/platform';
import { readPlatformConfigFile, type PlatformConfigs } from './platforms/platform_config_file';
import { platformRegistry } from './platforms/registry';
import { mixedPrecisionWarning, sessionConfigFromFlags } from './platforms/tensorflow/session_config';
import { exampleWarmupReplayers } from './servables/example_replayers';
import { Drain } from './server/drain';
import { OpenInference } from './server/open_inference/open_inference';
import { readinessOf } from './server/readiness';
import { hostPart, startGrpcServer } from './server/grpc/grpc_server';
import { pollModelConfigFile, readModelConfigFile } from './server/model_config_file';
import { ModelQueueBound } from './server/model_queue_bound';
import { startRestServer } from './server/rest/rest_server';
import { readSslConfigFile, tlsNote } from './server/ssl_config';
import { aspiredVersionPolicyNamed, ServerCore } from './server/server_core';

const VERSION = '0.1.0';

function modelServerConfig(flags: ServerFlags): ModelServerConfig {
  return flags.modelConfigFile ? readModelConfigFile(flags.modelConfigFile) : singleModelConfig(flags);
}

/**
 * The platforms' settings, as TF-Serving's BuildAndStart makes them: from --platform_config_file
 * when given (the TensorFlow session, tag and warmup flags are then ignored), else from the flags.
 * XLA is switched by its flags either way (tensorflow_model_server's main does it).
 */
function platformSettings(
  flags: ServerFlags,
  budget: ThreadBudget,
): {
  options: PlatformOptions;
  configs?: PlatformConfigs;
  warnings: string[];
} {
  const xlaCpuCompilationEnabled = flags.xlaCpuCompilationEnabled || flags.xlaGpuCompilationEnabled;
  const batching = startBatching(batchingFromFlags(flags), budget, 'TensorFlow and PyTorch');
  if (flags.platformConfigFile !== '') {
    const configs = readPlatformConfigFile(flags.platformConfigFile);
    const { tensorflow } = configs;
    // The file's batching_parameters are the "tensorflow" platform's; PyTorch keeps the flags'.
    if (tensorflow) tensorflow.options.batching = startBatching(tensorflow.batching, budget, 'TensorFlow');
    return {
      options: {
        savedModelTags: [],
        xlaCpuCompilationEnabled,
        torchThreads: budget.torch,
        chainStepThreads: budget.chainStepThreads,
        batching,
      },
      configs,
      warnings: configs.warnings,
    };
  }
  const sessionConfig = sessionConfigFromFlags({
    configFile: flags.tensorflowSessionConfigFile,
    ...budget.tensorflow,
    mixedPrecision: flags.mixedPrecision,
  });
  // TF-Serving logs this at every TensorFlow load; once is enough here.
  const precisionWarning = mixedPrecisionWarning(flags.mixedPrecision);
  return {
    options: {
      savedModelTags: flags.savedModelTags,
      sessionConfig,
      xlaCpuCompilationEnabled,
      removeUnusedFieldsFromBundleMetagraph: flags.removeUnusedFieldsFromBundleMetagraph,
      preferTfLiteModel: flags.preferTfLiteModel,
      numTfLitePools: flags.numTfLitePools,
      torchThreads: budget.torch,
      chainStepThreads: budget.chainStepThreads,
      batching,
    },
    warnings: precisionWarning === undefined ? [] : [precisionWarning],
  };
}

/** What --enable_batching asks for (server.cc): the file's parameters, or TF-Serving's defaults. */
function batchingFromFlags(flags: ServerFlags): BatchingSettings | undefined {
  if (!flags.enableBatching) return undefined;
  const parameters =
    flags.batchingParametersFile === ''
      ? SERVER_DEFAULT_BATCHING_PARAMETERS
      : readBatchingParametersFile(flags.batchingParametersFile);
  return { parameters, perModel: flags.enablePerModelBatchingParameters };
}

/**
 * The batch scheduler for `settings` (TF's CreateBatchScheduler, which refuses a bad
 * num_batch_threads at start-up), said in the log. Its default thread count is libuv's pool
 * size (TF's is the CPU count): the pool is what runs the batches.
 */
function startBatching(
  settings: BatchingSettings | undefined,
  budget: ThreadBudget,
  platforms: string,
): Batching | undefined {
  if (!settings) return undefined;
  const options = schedulerOptions(settings.parameters, budget.concurrentRuns);
  consoleLog('INFO', describeBatchingParameters(settings.parameters, options, settings.perModel, platforms));
  return { ...settings, scheduler: new SharedBatchScheduler(options) };
}

/**
 * The thread budget from the flags and the CPUs; inference runs on libuv's pool, which is sized
 * from it here, before its first use (it is fixed from then on).
 */
function applyThreadBudget(flags: ServerFlags, given: ReadonlySet<string>): ThreadBudget {
  const budget = threadBudget({
    cores: schedulableCpus(),
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE,
    grpcMaxThreads: given.has('grpc_max_threads') ? flags.grpcMaxThreads : undefined,
    tensorflowIntraOpParallelism: flags.tensorflowIntraOpParallelism,
    tensorflowInterOpParallelism: flags.tensorflowInterOpParallelism,
    tensorflowSessionParallelism: flags.tensorflowSessionParallelism,
    torchIntraOpThreads: flags.torchIntraOpThreads,
    torchInterOpThreads: flags.torchInterOpThreads,
  });
  process.env.UV_THREADPOOL_SIZE = String(budget.concurrentRuns);
  return budget;
}

async function serve(argv: string[]): Promise<void> {
  const { flags, warnings, given } = parseFlags(argv);
  if (flags.version) {
    console.log(`duoserve ModelServer: ${VERSION}\nTensorFlow Serving API compatible: 2.21`);
    return;
  }
  warnings.push(...checkServerFlags(flags));
  setLogFormat(flags.logFormat as LogFormatName);
  const budget = applyThreadBudget(flags, given);
  warnings.push(...budget.warnings);
  // TF logs every load step at INFO on stderr; keep warnings and errors unless asked.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
  const config = modelServerConfig(flags);
  // Before any model loads: a server that cannot serve the TLS it was asked for does not start.
  const tls = flags.sslConfigFile === '' ? undefined : readSslConfigFile(flags.sslConfigFile);
  if (tls) warnings.push(...tls.warnings);
  const grpcSsl = tls?.config;
  const restSsl = flags.restApiSsl ? tls?.config : undefined;
  const {
    options: platformOptions,
    configs: platformConfigs,
    warnings: platformWarnings,
  } = platformSettings(flags, budget);
  warnings.push(...platformWarnings);
  for (const warning of warnings) consoleLog('WARNING', warning);
  consoleLog('INFO', describeThreadBudget(budget));
  // Chains run other served models: their platform looks them up in the core's manager.
  const platforms = (manager: Manager) => platformRegistry(platformOptions, manager, platformConfigs);
  const core = new ServerCore(config, {
    platforms,
    fileSystemPollWaitSeconds: flags.fileSystemPollWaitSeconds,
    numLoadThreads: flags.numLoadThreads,
    numUnloadThreads: flags.numUnloadThreads,
    maxNumLoadRetries: flags.maxNumLoadRetries,
    loadRetryIntervalMicros: flags.loadRetryIntervalMicros,
    aspiredVersionPolicy: aspiredVersionPolicyNamed(flags.versionPolicy as VersionPolicyName),
    allowVersionLabelsForUnavailableModels: flags.allowVersionLabelsForUnavailableModels,
    warmup: {
      enableModelWarmup: flags.enableModelWarmup,
      numRequestIterations: flags.numRequestIterationsForWarmup,
      replayers: exampleWarmupReplayers(),
    },
    requestLogging: {
      maxFileBytes: flags.requestLogMaxFileBytes,
      maxFileRecords: flags.requestLogMaxFileRecords,
      bufferBytes: flags.requestLogBufferBytes,
      savedModelTags: flags.savedModelTags,
    },
    log: consoleLog,
  });
  // Nothing else keeps the process alive yet (the source's poll timer does not): a model still
  // to appear (its base path missing, its version not settled) is waited for, as TF-Serving does.
  const waiting = setInterval(() => undefined, 60_000);
  try {
    await core.waitUntilModelsAvailable();
  } finally {
    clearInterval(waiting);
  }

  const reloadConfig = (newConfig: ModelServerConfig) =>
    core.reloadConfig(newConfig).catch((error: Error) => {
      consoleLog('ERROR', `ReloadConfig failed: ${error.message}`);
      throw error;
    });
  const drain = new Drain();
  const readiness = readinessOf({
    configuredModels: () => core.config.models.map((model) => model.name),
    manager: core.manager,
    drain,
  });
  const queueBound = new ModelQueueBound(flags.maxQueuedRequestsPerModel);
  const openInference = new OpenInference(core.manager, {
    readiness,
    platformOf: (model) => core.config.models.find(({ name }) => name === model)?.platform,
    queueBound,
  });
  const grpc = await startGrpcServer(
    core.manager,
    {
      // --port=0 (with --grpc_socket_path): gRPC on the socket alone, as TF-Serving.
      port: flags.port === 0 ? undefined : flags.port,
      listenAddress: flags.grpcListenAddress,
      reloadConfigRpc: flags.reloadConfigRpc as ReloadConfigRpcMode,
      drain,
      socketPath: flags.grpcSocketPath || undefined,
      channelArguments: flags.grpcChannelArguments,
      enableHealthCheck: flags.enableGrpcHealthcheckService,
      enableSignatureMethodNameCheck: flags.enableSignatureMethodNameCheck,
      serializeAsTensorContent: flags.enableSerializationAsTensorContent,
      ssl: grpcSsl,
      queueBound,
      requestLogger: core.requestLogger,
      openInference,
    },
    reloadConfig,
  );
  const grpcNote = tlsNote(grpcSsl);
  if (grpc.port !== 0) {
    consoleLog('INFO', `Running gRPC ModelServer at ${hostPart(flags.grpcListenAddress)}:${grpc.port}${grpcNote} ...`);
  }
  if (flags.grpcSocketPath) {
    consoleLog('INFO', `Running gRPC ModelServer at UNIX socket ${flags.grpcSocketPath}${grpcNote} ...`);
  }
  const rest = restApiEnabled(flags)
    ? await startRestServer(core.manager, {
        port: flags.restApiPort,
        listenAddress: flags.restListenAddress,
        timeoutMs: flags.restApiTimeoutInMs,
        enableSignatureMethodNameCheck: flags.enableSignatureMethodNameCheck,
        bodyLimit: flags.restMaxBodyBytes,
        enableCorsSupport: flags.restApiEnableCorsSupport,
        prometheusPath: prometheusPathOf(flags.monitoringConfigFile),
        drain,
        readiness,
        ssl: restSsl,
        queueBound,
        requestLogger: core.requestLogger,
        openInference,
      })
    : undefined;
  if (rest) consoleLog('INFO', `Exporting HTTP/REST API at:localhost:${rest.port}${tlsNote(restSsl)} ...`);
  const configPoll =
    flags.modelConfigFile !== '' && flags.modelConfigFilePollWaitSeconds > 0
      ? pollModelConfigFile({
          file: flags.modelConfigFile,
          pollWaitSeconds: flags.modelConfigFilePollWaitSeconds,
          reloadConfig: (newConfig) => core.reloadConfig(newConfig),
          log: consoleLog,
        })
      : undefined;

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      consoleLog('WARNING', `${signal} again: exiting without waiting for ${drain.inFlight} running request(s)`);
      process.exit(1);
    }
    stopping = true;
    const graceSeconds = flags.shutdownGracePeriodSeconds;
    consoleLog(
      'INFO',
      `${signal}: shutting down; ${drain.inFlight} running request(s) get up to ${graceSeconds} s to finish, ` +
        'new ones are refused',
    );
    grpc.health?.enterShutdown();
    configPoll?.stop();
    const graceEnds = Date.now() + graceSeconds * 1000;
    const unfinished = await drain.start(graceSeconds * 1000);
    if (unfinished > 0) {
      consoleLog('WARNING', `Grace period over: cutting ${unfinished} request(s) still running`);
    }
    if (unfinished > 0) grpc.server.forceShutdown();
    else await shutDownGrpc(grpc.server);
    await rest?.close();
    // Every request is answered: the request logs get their last records and are closed.
    await core.requestLogger.close();
    // A run cut at the grace period still holds its model: unloading would wait for it. So
    // may a run whose request already ended (a REST timeout, a cancelled call): the unload
    // waits for it only as long as the grace period lasts.
    if (unfinished === 0) {
      const unloaded = await Promise.race([
        core.shutdown().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), Math.max(0, graceEnds - Date.now()))),
      ]);
      if (!unloaded) consoleLog('WARNING', 'Grace period over: exiting while runs of ended requests still hold models');
    }
    process.exit(0);
  };
  // Signal listeners' return values are ignored: the catch below is where a failed stop ends.
  const onSignal = (signal: NodeJS.Signals) => {
    void stop(signal).catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * Ends the gRPC server once its calls are answered: tryShutdown lets the answers already written
 * reach their clients; a stream still open after a moment (a health Watch) is then cut.
 */
async function shutDownGrpc(server: GrpcServer): Promise<void> {
  const FLUSH_MS = 1000;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, FLUSH_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** tensorflow_model_server's main returns -1 when it cannot start. */
const FAILED_TO_START_EXIT_CODE = 255;

/**
 * Runs the server. A start that fails is reported as tensorflow_model_server reports it, on
 * standard output: the flag parser's text with the usage, or "Failed to start server. Error:
 * CODE: message" (a server that could not build its models or read its config).
 */
export function main(argv: string[]): void {
  serve(argv).catch((error: unknown) => {
    if (error instanceof UsageError) {
      process.stdout.write(`${error.message}\n`);
      process.exit(FAILED_TO_START_EXIT_CODE);
    }
    if (error instanceof ServingError) {
      process.stdout.write(`Failed to start server. Error: ${error.code}: ${error.message}\n`);
      process.exit(FAILED_TO_START_EXIT_CODE);
    }
    console.error(error);
    process.exit(1);
  });
}
