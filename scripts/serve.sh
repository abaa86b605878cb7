#!/usr/bin/env bash
# Sets everything up, builds the web page's wasm package and serves the repository root on
# http://127.0.0.1:${PORT:-8080}/ (a static server only: all inference runs in the browser).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
scripts/build-page.sh # the page's wasm package into www/pkg/
scripts/vendor-face.sh # the face detector (npm @vladmandic/face-api) into www/vendor/face-api/
if [ ! -f www/models/default.safetensors ]; then
  echo "serve: www/models/default.safetensors is missing; the page will ask for a .safetensors file" >&2
fi
echo "serving on http://127.0.0.1:${PORT:-8080}/  (add ?cpu=1 to force the CPU backend)"
# a static server sending COOP/COEP, so the page is cross-origin isolated and its CPU path runs
# on WebAssembly threads (scripts/http-server.py)
exec scripts/http-server.py "${PORT:-8080}"
