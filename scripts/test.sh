#!/usr/bin/env bash
# Runs every test after the lint stage (ESLint, Prettier and clang-format checks, tsc --noEmit):
# native unit tests, node's test runner over dist/test, and the
# compatibility suite (stock tensorflow-serving-api client + plain HTTP against bin/duoserve).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== lint"
bash scripts/lint.sh
bash scripts/format.sh --check
npx tsc --noEmit -p tsconfig.json

echo "== native unit tests"
build/Release/duoserve_native_tests --gtest_brief=1

echo "== node tests"
# Two files at a time (node defaults to CPUs - 1, i.e. one on a 2-core machine): most files wait
# on model loads and spawned servers (on a loaded 2-core machine: 9 min one at a time, 3 min two at a time).
mapfile -t node_tests < <(find dist/test -name '*.test.js' | sort)
node --test --test-concurrency=2 --test-reporter=spec "${node_tests[@]}"

echo "== compatibility suite"
.venv/bin/python -m pytest -q -p no:cacheprovider test/compat
