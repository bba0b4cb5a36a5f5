// Lint for src/, test/ and bench/ TypeScript: typescript-eslint's type-aware rules (they read
// tsconfig.json's program) plus the architecture's import boundaries. Formatting is Prettier's.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

// A folder name anywhere in a module path: '../platforms', '../../src/server/x', './native'.
const folder = (...names) => `(^|/)(${names.join('|')})(/|$)`;

/** Forbids importing `names` (static, dynamic or require) from the files matched by `files`. */
function boundary(files, names, why) {
  const regex = folder(...names);
  const literal = `Literal[value=/${regex.replaceAll('/', '\\/')}/]`;
  return {
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex, message: why }] }],
      'no-restricted-syntax': [
        'error',
        { selector: `ImportExpression > ${literal}`, message: why },
        { selector: `CallExpression[callee.name='require'] > ${literal}`, message: why },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'var/', '.venv/', 'proto/', 'scripts/', 'bin/'] },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Type-aware: a promise nobody awaits loses its rejection (node:test's it/describe are
      // awaited by the runner itself).
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['it', 'describe', 'test', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // A switch over a union (status code names, dtype numbers, states) names every member.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      // A variable read by a closure before its one assignment stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // protobufjs' toObject() output and parsed JSON are `any` at the edge, checked by hand after.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: ['**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  boundary(
    ['src/core/**/*.ts'],
    ['platforms', 'server', 'native', 'servables', 'tensors'],
    'The lifecycle core knows no framework: it may not import platforms, servables, tensors, native addons or servers.',
  ),
  boundary(
    ['src/errors/**/*.ts'],
    ['core', 'config', 'platforms', 'server', 'native', 'servables', 'tensors', 'protos'],
    'src/errors is the leaf every layer imports: it imports no other part of src/.',
  ),
);
