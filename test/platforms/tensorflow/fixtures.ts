/**
 * The SavedModels of test/fixtures/export_tf_fixtures.py and the reference results TensorFlow
 * computed for them. Read from var/models/test/tensorflow when setup exported them there;
 * otherwise exported once into a temp directory keyed by the script's hash, so concurrent
 * test files share one export.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const MODELS = ['two_signatures', 'many_dtypes', 'keras_dense', 'jit_compiled'] as const;
export type FixtureModel = (typeof MODELS)[number];

export interface ReferenceTensor {
  dtype: number;
  shape: number[];
  /** Numbers, booleans, or base64 strings for DT_STRING. */
  values: Array<number | boolean | string>;
}

export interface ReferenceTensorInfo {
  name: string;
  dtype: number;
  shape: number[] | null;
}

export interface ReferenceSignature {
  method_name: string;
  inputs: Record<string, ReferenceTensorInfo>;
  outputs: Record<string, ReferenceTensorInfo>;
}

export interface ReferenceCase {
  signature: string;
  inputs: Record<string, ReferenceTensor>;
  outputs: Record<string, ReferenceTensor>;
}

export interface Reference {
  signatures: Record<string, ReferenceSignature>;
  cases: ReferenceCase[];
}

export const REPO_ROOT = findRepoRoot(__dirname);

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

function complete(dir: string): boolean {
  return MODELS.every((model) => fs.existsSync(path.join(dir, model, 'reference.json')));
}

let fixturesDir: string | undefined;

/** The directory holding <model>/1/ and <model>/reference.json for every fixture model. */
export function tensorFlowFixtures(): string {
  if (fixturesDir) return fixturesDir;
  const exported = path.join(REPO_ROOT, 'var', 'models', 'test', 'tensorflow');
  if (complete(exported)) return (fixturesDir = exported);

  const script = path.join(REPO_ROOT, 'test', 'fixtures', 'export_tf_fixtures.py');
  const hash = createHash('sha256').update(fs.readFileSync(script)).digest('hex').slice(0, 12);
  const cached = path.join(os.tmpdir(), `duoserve-tf-fixtures-${hash}`);
  if (!complete(cached)) {
    const staging = `${cached}.${process.pid}`;
    fs.rmSync(staging, { recursive: true, force: true });
    execFileSync(path.join(REPO_ROOT, '.venv', 'bin', 'python'), [script, staging], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    });
    if (!complete(cached)) fs.rmSync(cached, { recursive: true, force: true }); // a crashed export
    try {
      fs.renameSync(staging, cached);
    } catch {
      fs.rmSync(staging, { recursive: true, force: true }); // another test file won the race
    }
  }
  return (fixturesDir = cached);
}

export function versionDir(model: FixtureModel): string {
  return path.join(tensorFlowFixtures(), model, '1');
}

export function readReference(model: FixtureModel): Reference {
  return JSON.parse(fs.readFileSync(path.join(tensorFlowFixtures(), model, 'reference.json'), 'utf8'));
}
