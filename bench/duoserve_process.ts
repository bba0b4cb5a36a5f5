/**
 * bin/duoserve as a child process with tensorflow_model_server's flags, on free ports, in its
 * own process group (stop() reaches anything it started), its output in var/bench/duoserve.log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawGrpcClient } from './grpc_client';
import { REPO_ROOT } from './options';
import { RestClient } from './rest_client';

export interface DuoserveProcess {
  /** The server's own process (bin/duoserve is node itself), e.g. to read /proc/<pid>/status. */
  pid: number;
  grpcTarget: string;
  restPort: number;
  logPath: string;
  /** Seconds from spawn until every model was AVAILABLE over gRPC and answered over REST. */
  startupS: number;
  stop(): Promise<void>;
}

/** Ports the kernel just handed out, all held at once so they differ. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export function logTail(logPath: string, chars = 4000): string {
  try {
    return fs.readFileSync(logPath, 'utf8').slice(-chars);
  } catch {
    return '(no log)';
  }
}

/** True while any process of the group `pgid` lives (signal 0 only probes). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends the process group a detached child leads: SIGTERM, then SIGKILL after 5 s. Returns once the
 * whole group is gone, not only its leader: TorchServe's launcher exits before its JVM, whose pid
 * file would make the next start answer "TorchServe is already running".
 */
export async function stopGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid!;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pgid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const started = Date.now();
  let killed = false;
  while (groupAlive(pgid) && Date.now() - started < 15_000) {
    if (!killed && Date.now() - started > 5_000) {
      signal('SIGKILL');
      killed = true;
    }
    await sleep(50);
  }
}

async function restAnswers(port: number, model: string): Promise<boolean> {
  const client = new RestClient('127.0.0.1', port, 1);
  try {
    return (await client.request('GET', `/v1/models/${encodeURIComponent(model)}`)).status === 200;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

async function untilAvailable(
  child: ChildProcess,
  grpcTarget: string,
  restPort: number,
  models: string[],
  timeoutMs: number,
  logPath: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const client = new RawGrpcClient(grpcTarget);
  let waitingFor = 'the gRPC port';
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `bin/duoserve exited (${child.exitCode ?? child.signalCode}) while starting; ${logPath} ends:\n${logTail(logPath)}`,
        );
      }
      try {
        const pending: string[] = [];
        for (const model of models) if (!(await client.modelAvailable(model))) pending.push(model);
        if (pending.length > 0) waitingFor = `AVAILABLE: ${pending.join(', ')}`;
        else {
          const silent: string[] = [];
          for (const model of models) if (!(await restAnswers(restPort, model))) silent.push(model);
          if (silent.length === 0) return;
          waitingFor = `REST status of ${silent.join(', ')}`;
        }
      } catch (error) {
        waitingFor = `gRPC GetModelStatus (${(error as Error).message.split('\n')[0]})`;
      }
      await sleep(250);
    }
    throw new Error(
      `bin/duoserve: gave up after ${timeoutMs / 1000}s waiting for ${waitingFor}; ${logPath} ends:\n${logTail(logPath)}`,
    );
  } finally {
    client.close();
  }
}

export async function startDuoserve(
  modelConfigFile: string,
  models: string[],
  extraArgs: string[],
  timeoutMs: number,
  logDir: string,
  /** Added to this process's environment for the server (e.g. MALLOC_ARENA_MAX). */
  env: Record<string, string> = {},
): Promise<DuoserveProcess> {
  const [grpcPort, restPort] = await freePorts(2);
  fs.mkdirSync(logDir, { recursive: true });
  const logPath = path.join(logDir, 'duoserve.log');
  const log = fs.openSync(logPath, 'w');
  const started = process.hrtime.bigint();
  const child = spawn(
    path.join(REPO_ROOT, 'bin', 'duoserve'),
    [`--port=${grpcPort}`, `--rest_api_port=${restPort}`, `--model_config_file=${modelConfigFile}`, ...extraArgs],
    { cwd: REPO_ROOT, stdio: ['ignore', log, log], detached: true, env: { ...process.env, ...env } },
  );
  fs.closeSync(log);
  // A bench that dies or is interrupted must not leave the server running.
  const killOnExit = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);
  const grpcTarget = `127.0.0.1:${grpcPort}`;
  try {
    await untilAvailable(child, grpcTarget, restPort, models, timeoutMs, logPath);
  } catch (error) {
    await stopGroup(child);
    throw error;
  }
  return {
    pid: child.pid!,
    grpcTarget,
    restPort,
    logPath,
    startupS: Number(process.hrtime.bigint() - started) / 1e9,
    stop: async () => {
      await stopGroup(child);
      process.removeListener('exit', killOnExit);
    },
  };
}
