/**
 * The warmup files of write_warmup_files.py (real TFRecordWriter, stock PredictionLog classes),
 * written once per test process into a temp directory.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const SCRIPT = path.join(REPO_ROOT, 'test', 'servables', 'warmup', 'write_warmup_files.py');

export type WarmupFileName =
  'predict' | 'skipped_and_predict' | 'classify' | 'session_run' | 'bad_input' | 'unparseable' | 'too_many';

export interface WarmupManifest {
  records: Record<WarmupFileName, string[]>;
  requests: Record<WarmupFileName, Array<string | string[] | null>>;
  descriptor: { fields: Record<string, Record<string, number>>; log_type: string[] };
}

export interface WarmupFiles {
  dir: string;
  path(name: WarmupFileName): string;
  manifest: WarmupManifest;
}

let written: WarmupFiles | undefined;

export function warmupFiles(): WarmupFiles {
  if (!written) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-warmup-files-'));
    execFileSync(PYTHON, [SCRIPT, dir], { stdio: ['ignore', 'inherit', 'inherit'] });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as WarmupManifest;
    written = { dir, path: (name) => path.join(dir, name), manifest };
  }
  return written;
}

/** A fresh temp directory, removed when the process exits. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
