/**
 * One model's lifecycle run against a real bin/duoserve serving it alone: version 1 is served,
 * then each cycle publishes version k+1 (atomic rename), times rename -> AVAILABLE with
 * GetModelStatus polled every ~10 ms, waits for version k to reach END (the latest-1 policy
 * unloads it once k+1 serves), deletes its directory and reads the server's RSS.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDuoserve } from './duoserve_process';
import { RawGrpcClient } from './grpc_client';
import type { LifecycleOptions } from './lifecycle_options';
import { type ProcessMemory, readProcessMemory } from './process_memory';
import { pollUntilState } from './version_states';
import { VersionDirs } from './version_dirs';

export interface CycleResult {
  version: number;
  /** Rename into the base path -> first poll that sees the version AVAILABLE. */
  appearMs: number;
  /** The new version AVAILABLE -> the old one END. */
  oldEndMs: number;
  memory: ProcessMemory;
}

export interface ServedModelRun {
  startupS: number;
  baseline: ProcessMemory;
  cycles: CycleResult[];
  log: string;
}

const STATE_TIMEOUT_MS = 120_000;

function writeModelConfig(file: string, name: string, basePath: string, platform: string): void {
  fs.writeFileSync(
    file,
    `model_config_list {\n  config {\n    name: "${name}"\n    base_path: "${basePath}"\n    model_platform: "${platform}"\n  }\n}\n`,
  );
}

export async function runServedModel(
  name: string,
  platform: string,
  sourceVersionDir: string,
  options: LifecycleOptions,
  progress: (line: string) => void,
): Promise<ServedModelRun> {
  const root = path.join(options.workDir, name);
  const dirs = new VersionDirs(root, sourceVersionDir);
  dirs.stage(1);
  dirs.publish(1);
  const configFile = path.join(root, 'models.config');
  writeModelConfig(configFile, name, dirs.basePath, platform);
  const server = await startDuoserve(
    configFile,
    [name],
    [`--file_system_poll_wait_seconds=${options.pollWaitSeconds}`, ...options.serverArgs],
    options.serverStartTimeoutMs,
    root,
    options.serverEnv,
  );
  const client = new RawGrpcClient(server.grpcTarget);
  try {
    await sleep(options.settleMs);
    const baseline = readProcessMemory(server.pid);
    progress(
      `${name}: served in ${server.startupS.toFixed(1)} s, RSS ${baseline.rssMiB.toFixed(1)} MiB with version 1`,
    );
    const cycles: CycleResult[] = [];
    for (let version = 2; version <= options.cycles + 1; version++) {
      dirs.stage(version);
      const published = dirs.publish(version);
      const available = await pollUntilState(client, name, version, 'AVAILABLE', STATE_TIMEOUT_MS);
      const oldEnded = await pollUntilState(client, name, version - 1, 'END', STATE_TIMEOUT_MS);
      dirs.remove(version - 1);
      await sleep(options.settleMs);
      const memory = readProcessMemory(server.pid);
      cycles.push({
        version,
        appearMs: Number(available - published) / 1e6,
        oldEndMs: Math.max(0, Number(oldEnded - available) / 1e6),
        memory,
      });
      progress(
        `${name}: version ${version} AVAILABLE ${cycles.at(-1)!.appearMs.toFixed(0)} ms after the rename, ` +
          `RSS ${memory.rssMiB.toFixed(1)} MiB (anon ${memory.anonMiB.toFixed(1)})`,
      );
    }
    return { startupS: server.startupS, baseline, cycles, log: server.logPath };
  } finally {
    client.close();
    await server.stop();
  }
}
