#!/usr/bin/env bash
# Idempotent setup: Debian packages, the project-local Python env with the pinned
# framework wheels, npm packages, the native addons, the TypeScript build, and the
# example/test models exported by the real frameworks. Each step re-runs only when
# its inputs changed (stamp files under .setup-stamps/ hold the inputs' hash).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
stamps=$root/.setup-stamps
mkdir -p "$stamps"

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
# step NAME HASH-INPUTS... -- COMMAND...: runs COMMAND unless NAME's stamp matches.
step() {
  local name=$1; shift
  local inputs=()
  while [ "$1" != "--" ]; do inputs+=("$1"); shift; done; shift
  local want; want=$(hash_of "${inputs[@]}")
  if [ "$(cat "$stamps/$name" 2>/dev/null)" = "$want" ]; then log "$name: up to date"; return; fi
  local t0=$SECONDS
  log "$name: running"
  "$@"
  echo "$want" >"$stamps/$name"
  log "$name: done in $((SECONDS - t0))s"
}

debian_packages() {
  local pkgs; pkgs=$(grep -v '^#' third_party/debian-packages.txt | xargs)
  local names; names=$(printf '%s\n' $pkgs | sed 's/=.*//')
  local installed; installed=$(dpkg-query -W -f='${Status}\n' $names 2>/dev/null | grep -c "install ok installed" || true)
  if [ "$installed" = "$(wc -w <<<"$names")" ]; then return; fi
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $pkgs >/dev/null
}

python_env() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check \
    $(grep -v '^#' third_party/requirements.txt | grep -v tensorflow-serving-api | xargs)
  # The stock TF-Serving client, without the full `tensorflow` it declares: tensorflow-cpu
  # already provides the `tensorflow` package its generated stubs import.
  .venv/bin/pip install -q --disable-pip-version-check --no-deps \
    "$(grep '^tensorflow-serving-api' third_party/requirements.txt)"
}

npm_packages() { npm ci --no-audit --no-fund --loglevel=error; }
native_build() { npx cmake-js compile --log-level warn; }
# From a clean dist/: a compiled test whose source is gone would otherwise still run.
ts_build() { rm -rf dist && npx tsc -p tsconfig.json; }
export_models() { .venv/bin/python scripts/export_models.py --out var/models; }

step debian third_party/debian-packages.txt -- debian_packages
step python third_party/requirements.txt -- python_env
step npm package.json package-lock.json -- npm_packages
step native CMakeLists.txt $(find native third_party -type f | sort) .setup-stamps/python .setup-stamps/npm -- native_build
step typescript tsconfig.json $(find src test bench -name '*.ts' | sort) .setup-stamps/npm -- ts_build
step models scripts/export_models.py $(find scripts/models test/fixtures -type f -not -name "*.pyc" 2>/dev/null | sort) .setup-stamps/python -- export_models
log "ready"
