/**
 * GetModelStatus over gRPC, polled the way an operator's script would watch a rollout: every
 * ~10 ms until a version reaches a state. The server keeps END for unloaded versions, so the
 * unload of an old version is observable the same way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Protos } from '../src/protos';
import { GET_MODEL_STATUS_PATH, type RawGrpcClient } from './grpc_client';

export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

const STATE_NAMES = new Map<number, VersionState>([
  [10, 'START'],
  [20, 'LOADING'],
  [30, 'AVAILABLE'],
  [40, 'UNLOADING'],
  [50, 'END'],
]);

interface VersionStatus {
  state: VersionState;
  errorMessage: string;
}

interface StatusMessage {
  model_version_status: Array<{
    version: number | { toNumber(): number };
    state: number;
    status?: { error_message?: string };
  }>;
}

/** Every version the server reports for `model` (none yet: an empty map). */
export async function versionStates(client: RawGrpcClient, model: string): Promise<Map<number, VersionStatus>> {
  const request = Buffer.from(Protos.GetModelStatusRequest.encode({ model_spec: { name: model } }).finish());
  let bytes: Buffer;
  try {
    bytes = await client.call(GET_MODEL_STATUS_PATH, request, 2_000);
  } catch (error) {
    if ((error as { code?: number }).code === 5) return new Map(); // NOT_FOUND: no version yet
    throw error;
  }
  const response = Protos.GetModelStatusResponse.decode(bytes) as unknown as StatusMessage;
  return new Map(
    response.model_version_status.map((entry) => [
      typeof entry.version === 'number' ? entry.version : entry.version.toNumber(),
      { state: STATE_NAMES.get(entry.state) ?? 'START', errorMessage: entry.status?.error_message ?? '' },
    ]),
  );
}

/**
 * Resolves with process.hrtime.bigint() at the first poll that sees `version` in `goal`.
 * Rejects when the version ends with an error, or after `timeoutMs`.
 */
export async function pollUntilState(
  client: RawGrpcClient,
  model: string,
  version: number,
  goal: VersionState,
  timeoutMs: number,
  intervalMs = 10,
): Promise<bigint> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not reported';
  while (Date.now() < deadline) {
    const started = Date.now();
    const status = (await versionStates(client, model)).get(version);
    if (status?.state === goal) return process.hrtime.bigint();
    if (status?.state === 'END' && status.errorMessage) {
      throw new Error(`${model} version ${version} failed: ${status.errorMessage}`);
    }
    last = status?.state ?? last;
    await sleep(Math.max(0, intervalMs - (Date.now() - started)));
  }
  throw new Error(`${model} version ${version}: still ${last} after ${timeoutMs / 1000}s (waiting for ${goal})`);
}
