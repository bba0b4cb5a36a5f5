import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';

/**
 * The lifecycle core knows no framework: checked by a tool, not by discipline. Fails if any
 * file under src/core/ imports from the platforms, the native addons or the server, or
 * mentions a framework anywhere in its text (code or comments).
 */
const FORBIDDEN_IMPORT = /(?:from\s+|require\(\s*|import\(\s*)['"][^'"]*\/(?:platforms|native|server)(?:\/[^'"]*)?['"]/;
const FORBIDDEN_WORD = /tensorflow|pytorch|torch|savedmodel|saved_model/i;

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the test');
    dir = parent;
  }
  return dir;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) ? [full] : [];
  });
}

it('src/core/ imports no framework code and names no framework', () => {
  const core = path.join(repoRoot(), 'src', 'core');
  const files = sourceFiles(core);
  assert.ok(files.length > 5, `expected the core's sources in ${core}`);
  const problems: string[] = [];
  for (const file of files) {
    fs.readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, index) => {
        const where = `${path.relative(core, file)}:${index + 1}`;
        if (FORBIDDEN_IMPORT.test(line)) problems.push(`${where} imports framework-side code: ${line.trim()}`);
        const word = FORBIDDEN_WORD.exec(line);
        if (word) problems.push(`${where} mentions "${word[0]}": ${line.trim()}`);
      });
  }
  assert.deepEqual(problems, []);
});
