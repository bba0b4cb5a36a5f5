#!/usr/bin/env bash
# One formatter per language, configured once at the top: Prettier (.prettierrc.json) for the
# TypeScript in src/, test/ and bench/, clang-format (.clang-format) for native/ and test/native/.
# --check reports files that differ and fails; without it, rewrites them in place.
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
[ "${1:-}" = "--check" ] && check=true

ts=('src/**/*.ts' 'test/**/*.ts' 'bench/**/*.ts' eslint.config.mjs)
mapfile -t cpp < <(find native test/native -name '*.cc' -o -name '*.h' | sort)
if $check; then
  npx prettier --check --log-level warn "${ts[@]}"
  clang-format --dry-run --Werror "${cpp[@]}"
else
  npx prettier --write --log-level warn "${ts[@]}"
  clang-format -i "${cpp[@]}"
fi
