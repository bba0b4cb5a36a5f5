#!/usr/bin/env bash
# Copies what bin/duoserve needs at run time into DEST, each file at its own absolute path under
# DEST (DEST/opt/duoserve/... for a checkout at /opt/duoserve). The addons' search paths are
# absolute (CMakeLists.txt: the checkout's build/Release and the .venv's framework directories),
# so the runtime image keeps the checkout's path, and libtorch_cpu's own $ORIGIN/../../nvidia
# RPATH keeps the wheels' layout inside site-packages. The framework libraries are the ones the
# dynamic linker resolves for the addons (ldd), not a hand-kept list; the rest of the wheels
# (Python code, headers, CUDA libraries libtorch_cpu does not load) stays behind.
set -euo pipefail
dest=$1
cd "$(dirname "$0")/.."
root=$PWD
addons=(build/Release/libduoserve_tensor.so build/Release/aoti/libtorch.so
  build/Release/duoserve_tensorflow.node build/Release/duoserve_pytorch.node
  build/Release/duoserve_tflite.node build/Release/duoserve_codec.node)
linked=$(ldd "${addons[@]}")
if grep -q 'not found' <<<"$linked"; then
  echo "stage_runtime.sh: unresolved libraries:" >&2
  grep 'not found' <<<"$linked" >&2
  exit 1
fi
mkdir -p "$dest$root"
# The JavaScript side: bin/duoserve loads dist/src, which reads proto/ and package.json.
cp -a --parents bin package.json proto dist/src node_modules "${addons[@]}" "$dest$root/"
# Everything the addons link that the runtime image's Debian does not provide (/lib, /usr/lib).
# (The checkout's own build/Release is already copied above.)
awk -v root="$root/" '$2 == "=>" && $3 ~ /^\// && $3 !~ /^\/(usr\/)?lib(64)?\// && index($3, root) != 1 { print $3 }' \
  <<<"$linked" |
  xargs realpath -s | sort -u | xargs cp --parents -t "$dest"
