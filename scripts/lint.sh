#!/usr/bin/env bash
# Lint: ESLint with typescript-eslint's type-aware rules and the import boundaries
# (eslint.config.mjs), and native/'s one include convention. --tidy adds clang-tidy's
# bugprone and performance checks (.clang-tidy) over native/, which needs the build's
# build/compile_commands.json and takes minutes, so scripts/test.sh leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."

npx eslint --max-warnings 0 .

# Quoted includes name a path from native/ ("common/status.h", "tensorflow/tf_handles.h"), the
# include directory every target shares; a bare "file.h" only resolves beside its includer.
if grep -rnE '^#include "[^/"]+"' native test/native; then
  echo 'lint: quoted includes are paths from native/, e.g. "common/status.h"' >&2
  exit 1
fi

if [ "${1:-}" = "--tidy" ]; then
  [ -f build/compile_commands.json ] || { echo 'lint --tidy: build/compile_commands.json is missing: npm run build:native' >&2; exit 1; }
  # aoti_package.cc asks __builtin_cpu_supports for "amx-tile", a name GCC knows and clang 14 does not.
  mapfile -t sources < <(find native test/native -name '*.cc' -not -name aoti_package.cc | sort)
  run-clang-tidy -quiet -p build -j "$(nproc)" "${sources[@]}"
fi
