/**
 * --model_config_file, read at startup and, with --model_config_file_poll_wait_seconds > 0,
 * re-read periodically and applied with ServerCore.reloadConfig (TF-Serving's
 * Server::PollFilesystemAndReloadConfig). A file that cannot be read or parsed, or a config
 * the core refuses, is logged and the running config stays.
 */
import { modelServerConfigFromMessage, type ModelServerConfig } from '../config/model_server_config';
import { readTextProtoFile, readTextProtoFileAsync } from '../config/text_proto_file';
import { Protos } from '../protos';
import type { Log } from '../core/log';

/** Reads and checks the file (at startup); a ServingError in TF-Serving's words when it cannot. */
export function readModelConfigFile(file: string): ModelServerConfig {
  return modelServerConfigFromMessage(readTextProtoFile(Protos.ModelServerConfig, file), file);
}

export interface ModelConfigFilePoll {
  /** Stops polling (a reload in progress goes on). */
  stop(): void;
}

/**
 * Re-reads `file` every `pollWaitSeconds` and reloads it, changed or not, as TF-Serving does:
 * the file stays the truth (a config reloaded over gRPC meanwhile is replaced on the next poll),
 * and a refused config is tried again, so a label waiting for its version is applied once that
 * version is AVAILABLE.
 */
export function pollModelConfigFile(options: {
  file: string;
  pollWaitSeconds: number;
  reloadConfig: (config: ModelServerConfig) => Promise<void>;
  log: Log;
}): ModelConfigFilePoll {
  const { file, pollWaitSeconds, reloadConfig, log } = options;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastFailure: string | undefined;
  // A failure is logged once, not on every poll, until the next success or another failure.
  const fail = (message: string) => {
    if (message !== lastFailure) log('ERROR', message);
    lastFailure = message;
  };

  const pollOnce = async (): Promise<void> => {
    let config: ModelServerConfig;
    try {
      config = modelServerConfigFromMessage(await readTextProtoFileAsync(Protos.ModelServerConfig, file), file);
    } catch (error) {
      return fail(`Failed to read ModelServerConfig file: ${(error as Error).message}`);
    }
    try {
      await reloadConfig(config);
      lastFailure = undefined;
    } catch (error) {
      fail(`PollFilesystemAndReloadConfig failed to ReloadConfig: ${(error as Error).message}`);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void pollOnce().finally(schedule), pollWaitSeconds * 1000);
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
