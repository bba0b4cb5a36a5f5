#!/usr/bin/env bash
# Installs what `npm run bench:peers` needs into var/peers/ (nothing system-wide, .venv untouched):
#   var/peers/venv     TorchServe + torch-model-archiver (bench/peers/requirements.txt), seeing
#                      .venv's pinned torch through a .pth file
#   var/peers/bin      java (a JDK >= 17 from PATH, else Debian's JRE), wrk, ghz (bench/peers/tools.txt)
#   var/peers/debian   the Debian packages, unpacked with dpkg -x
# Idempotent: each step records the hash of what it installed from in var/peers/stamps/ and is
# skipped while that hash matches. Set PEERS_JAVA=debian to take Debian's JRE even where PATH has one.
# Step names as arguments (python, java, wrk, ghz) run only those: `install.sh ghz` is what
# `npm run bench:v2` needs.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
peers=$root/var/peers
stamps=$peers/stamps
mkdir -p "$stamps" "$peers/bin" "$peers/debs" "$peers/debian"

log() { printf '[peers %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
hash_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }
only=" $* "
# step NAME KEY COMMAND...: runs COMMAND unless NAME's stamp holds KEY's hash (or NAME was not asked for).
step() {
  local name=$1 key; key=$(hash_of "$2"); shift 2
  if [ "$only" != "  " ] && [[ $only != *" $name "* ]]; then return; fi
  if [ "$(cat "$stamps/$name" 2>/dev/null)" = "$key" ]; then log "$name: up to date"; return; fi
  local t0=$SECONDS
  log "$name: installing"
  "$@"
  echo "$key" >"$stamps/$name"
  log "$name: done in $((SECONDS - t0))s"
}
pin() { # pin KIND NAME: the pinned spec of NAME in tools.txt (e.g. "wrk=4.1.0-3+b2")
  local spec; spec=$(awk -v kind="$1" -v name="$2" '$1 == kind && index($2, name) == 1 { print $2 }' bench/peers/tools.txt)
  [ -n "$spec" ] || { echo "bench/peers/tools.txt pins no $1 $2" >&2; exit 1; }
  echo "$spec"
}

main_site_packages() { .venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }

python_env() {
  rm -rf "$peers/venv"
  # Same interpreter as .venv, so that .venv's compiled torch loads in it.
  .venv/bin/python -m venv "$peers/venv"
  "$peers/venv/bin/pip" install -q --disable-pip-version-check -r bench/peers/requirements.txt
  local site; site=$("$peers/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # Appended after the venv's own site-packages: TorchServe's own dependencies win, torch comes from .venv.
  main_site_packages >"$site/duoserve_main_venv.pth"
  "$peers/venv/bin/python" -c 'import torch, ts, model_archiver; print("torch", torch.__version__)'
}

debian_download() { # debian_download SPEC...: the .deb files into var/peers/debs, unpacked into var/peers/debian
  (cd "$peers/debs" && { apt-get download -qq "$@" 2>/dev/null || { apt-get update -qq && apt-get download -qq "$@"; }; })
  local spec file
  for spec in "$@"; do
    file=$(ls "$peers/debs/${spec%%=*}_"*.deb | head -1)
    dpkg -x "$file" "$peers/debian"
  done
}

java_version_of() { "$1" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print v[1]; exit }'; }

java_runtime() {
  local found; found=$(command -v java || true)
  if [ "${PEERS_JAVA:-}" != debian ] && [ -n "$found" ] && [ "$(java_version_of "$found")" -ge 17 ] 2>/dev/null; then
    ln -sfn "$(readlink -f "$found")" "$peers/bin/java"
  else
    debian_download "$(pin debian openjdk-17-jre-headless)"
    ln -sfn "$(ls -d "$peers"/debian/usr/lib/jvm/java-17-openjdk-*/bin/java | head -1)" "$peers/bin/java"
  fi
  log "java: $(readlink "$peers/bin/java") ($("$peers/bin/java" -version 2>&1 | head -1))"
}

wrk_tool() {
  debian_download "$(pin debian wrk=)" "$(pin debian libluajit-5.1-2)"
  # wrk finds the unpacked LuaJIT through LD_LIBRARY_PATH, not the system's.
  cat >"$peers/bin/wrk" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="\$(echo "$peers"/debian/usr/lib/*-linux-gnu)\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$peers/debian/usr/bin/wrk" "\$@"
EOF
  chmod +x "$peers/bin/wrk"
  "$peers/bin/wrk" -v 2>&1 | head -1 || true
}

ghz_tool() { GOBIN=$peers/bin GOFLAGS=-mod=mod go install "$(pin go github.com/bojand/ghz/)"; "$peers/bin/ghz" --version; }

step python "$(cat bench/peers/requirements.txt) $(main_site_packages)" python_env
java_key="$(command -v java || true) ${PEERS_JAVA:-} $(pin debian openjdk-17-jre-headless)"
step java "$java_key" java_runtime
step wrk "$(pin debian wrk=) $(pin debian libluajit-5.1-2)" wrk_tool
step ghz "$(pin go github.com/bojand/ghz/)" ghz_tool
log "ready: $peers/bin holds $(ls "$peers/bin" | xargs)"
