/**
 * The AOTInductor fixtures (test/fixtures/export_aoti_fixtures.py, exported by setup into
 * var/models/test/aoti; exported here on first use when setup has not run) and their
 * reference outputs, computed by the Python ExportedProgram.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { PYTHON, REPO_ROOT, TorchReference } from './torch_fixtures';

const FIXTURES_DIR = path.join(REPO_ROOT, 'var', 'models', 'test', 'aoti');

export function aotiFixturesDir(): string {
  if (!fs.existsSync(path.join(FIXTURES_DIR, 'both_formats', '1', 'model.pt'))) {
    fs.rmSync(FIXTURES_DIR, { recursive: true, force: true });
    execFileSync(PYTHON, [path.join(REPO_ROOT, 'test', 'fixtures', 'export_aoti_fixtures.py'), FIXTURES_DIR], {
      stdio: 'inherit',
    });
  }
  return FIXTURES_DIR;
}

/** The version directory of one fixture package. */
export function aotiModel(name: string): string {
  return path.join(aotiFixturesDir(), name, '1');
}

/** The cases of a compiled fixture: inputs and outputs keyed by signature alias. */
export function aotiCases(name: string): TorchReference[] {
  return JSON.parse(fs.readFileSync(path.join(aotiFixturesDir(), name, 'reference.json'), 'utf8')).cases;
}

/** An example model's version directory (var/models/examples, written by setup). */
export function exampleModel(name: string): string {
  return path.join(REPO_ROOT, 'var', 'models', 'examples', name, '1');
}
