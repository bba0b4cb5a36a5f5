/**
 * The `duoserve` package as a dependent sees it: required by name from a project whose
 * node_modules/duoserve links to this checkout, so Node resolves it through package.json's
 * "exports", as `npm install` of the package would.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Duoserve from '../../src/index';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface PackageEntry {
  duoserve: typeof Duoserve;
  /** The dependent project's directory (its node_modules/duoserve is this checkout). */
  project: string;
  /** require.resolve from the dependent project. */
  resolve(request: string): string;
  cleanUp(): void;
}

export function requireDuoserve(): PackageEntry {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-dependent-'));
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(REPO_ROOT, path.join(project, 'node_modules', 'duoserve'), 'dir');
  const requireFromProject = createRequire(path.join(project, 'index.js'));
  return {
    duoserve: requireFromProject('duoserve') as typeof Duoserve,
    project,
    resolve: (request) => requireFromProject.resolve(request),
    cleanUp: () => fs.rmSync(project, { recursive: true, force: true }),
  };
}
