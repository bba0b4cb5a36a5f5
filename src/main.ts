/**
 * `bin/duoserve`: tensorflow_model_server's command line over duoserve's core, starting
 * the gRPC and REST APIs once the configured models have settled their first load.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ConfigError } from './config/config_error';
import { checkServerFlags, restApiEnabled } from './config/flag_checks';
import { parseFlags, type ServerFlags } from './config/flags';
import { parseModelServerConfigText, singleModelConfig, type ModelServerConfig } from './config/model_server_config';
import { consoleLog } from './core/log';
import { platformRegistry } from './platforms/registry';
import { startGrpcServer } from './server/grpc/grpc_server';
import { startRestServer } from './server/rest/rest_server';
import { ServerCore } from './server/server_core';

const VERSION = '0.1.0';

function modelServerConfig(flags: ServerFlags): ModelServerConfig {
  if (!flags.modelConfigFile) return singleModelConfig(flags);
  let text: string;
  try {
    text = fs.readFileSync(flags.modelConfigFile, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read --model_config_file: ${(error as Error).message}`);
  }
  return parseModelServerConfigText(text, flags.modelConfigFile);
}

/** Inference runs on libuv's pool: size it before its first use (it is fixed from then on). */
function sizeWorkerPool(flags: ServerFlags): void {
  if (process.env.UV_THREADPOOL_SIZE) return;
  const wanted = flags.grpcMaxThreads > 0 ? flags.grpcMaxThreads : Math.max(4, os.availableParallelism() * 2);
  process.env.UV_THREADPOOL_SIZE = String(Math.min(wanted, 1024));
}

async function serve(argv: string[]): Promise<void> {
  const { flags, warnings } = parseFlags(argv);
  if (flags.version) {
    console.log(`duoserve ModelServer: ${VERSION}\nTensorFlow Serving API compatible: 2.21`);
    return;
  }
  warnings.push(...checkServerFlags(flags));
  sizeWorkerPool(flags);
  // TF logs every load step at INFO on stderr; keep warnings and errors unless asked.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
  for (const warning of warnings) consoleLog('WARNING', warning);
  const config = modelServerConfig(flags);
  const platforms = platformRegistry({
    savedModelTags: flags.savedModelTags,
    intraOpThreads: flags.tensorflowIntraOpParallelism,
    interOpThreads: flags.tensorflowInterOpParallelism,
  });
  const core = new ServerCore(config, {
    platforms,
    fileSystemPollWaitSeconds: flags.fileSystemPollWaitSeconds,
    log: consoleLog,
  });
  await core.waitUntilModelsSettled();

  const grpc = await startGrpcServer(core.manager, {
    port: flags.port,
    socketPath: flags.grpcSocketPath || undefined,
    channelArguments: flags.grpcChannelArguments,
  });
  consoleLog('INFO', `Running gRPC ModelServer at 0.0.0.0:${grpc.port} ...`);
  if (flags.grpcSocketPath) consoleLog('INFO', `Running gRPC ModelServer at UNIX socket ${flags.grpcSocketPath} ...`);
  const rest = restApiEnabled(flags)
    ? await startRestServer(core.manager, { port: flags.restApiPort, timeoutMs: flags.restApiTimeoutInMs })
    : undefined;
  if (rest) consoleLog('INFO', `Exporting HTTP/REST API at:localhost:${rest.port} ...`);

  const stop = async () => {
    consoleLog('INFO', 'Shutting down');
    grpc.server.forceShutdown();
    await rest?.close();
    await core.shutdown();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export function main(argv: string[]): void {
  serve(argv).catch((error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    console.error(error);
    process.exit(1);
  });
}
