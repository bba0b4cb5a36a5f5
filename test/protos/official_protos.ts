/**
 * Runs test/protos/dump_descriptors.py with the project's Python env, where the stock
 * tensorflow-serving-api and tensorflow packages hold the official protos.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const SCRIPT = path.join(REPO_ROOT, 'test', 'protos', 'dump_descriptors.py');

export const PROTO_DIR = path.join(REPO_ROOT, 'proto');

/** Runs one dump_descriptors.py command and returns its JSON output. */
export function official<T = any>(args: readonly string[], stdin?: string): T {
  const run = spawnSync(PYTHON, [SCRIPT, ...args], {
    input: stdin,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
  });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`dump_descriptors.py ${args[0]} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Runs several commands in one Python process (TensorFlow's import takes seconds). */
export function officialBatch(commands: ReadonlyArray<{ command: string; args?: string[]; stdin?: string }>): any[] {
  const triples = commands.map(({ command, args = [], stdin = '' }) => [command, args, stdin]);
  return official<any[]>(['batch'], JSON.stringify(triples));
}

export interface OfficialField {
  number: number;
  name: string;
  repeated: boolean;
  oneof: string | null;
  packed: boolean;
  type: string;
  typeName: string | null;
  map: { keyType: string; value: { type: string; typeName: string | null } } | null;
}

export interface OfficialDescriptors {
  messages: Record<string, { file: string; fields: OfficialField[] }>;
  enums: Record<string, { file: string; values: Record<string, number> }>;
  services: Record<
    string,
    {
      file: string;
      methods: Record<string, { input: string; output: string; clientStreaming: boolean; serverStreaming: boolean }>;
    }
  >;
  missing: string[];
}
