#!/usr/bin/env bash
# Sets everything up and serves the web page with the default model on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ ! -f index.html ]; then
  echo "serve: the web page is not built yet (issue #4: www/ and index.html); nothing to serve." >&2
  echo "serve: the library and its tests are ready: scripts/test.sh" >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"
wasm-pack build --release --target web --out-dir www/pkg --mode no-install
echo "serving on http://127.0.0.1:${PORT:-8080}/"
exec python3 -m http.server "${PORT:-8080}" --bind 127.0.0.1
