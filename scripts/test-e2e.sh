#!/usr/bin/env bash
# End-to-end tests of the web page in real headless Chromium (tests/e2e/run.mjs: the cases of
# tests/e2e/{page,defects,align,flow}.test.mjs, each standing alone): builds the wasm
# package, serves the repository root on a free 127.0.0.1 port, and drives /usr/bin/chromium with
# playwright-core (WebGPU on SwiftShader, and the CPU). Screenshots of every panel and state go to
# test-output/e2e/. Exits non-zero when any case fails.
#   scripts/test-e2e.sh                       the default model (www/models/default.safetensors)
#   GLOW_E2E_MODEL=path scripts/test-e2e.sh   another model file under the repository root
#   E2E_ONLY=regex scripts/test-e2e.sh        only the cases whose name matches (tests/e2e/run.mjs)
# When www/models/default.safetensors is missing, a tiny MNIST model (2 training steps) is
# trained into it first so the page has something to load.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '[test-e2e] %s\n' "$*"; }

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
for tool in node npm wasm-bindgen python3 "$CHROMIUM"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test-e2e: '$tool' not found (run scripts/setup.sh)" >&2; exit 2; }
done

# --- playwright-core (driver only; it uses the system Chromium, never downloads a browser) and the
#     face detector's package
if ! node -e "require.resolve('playwright-core'); require.resolve('@vladmandic/face-api/package.json')" >/dev/null 2>&1; then
  log "npm install playwright-core"
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

# --- the face detector, served from the page's origin (www/vendor/face-api/)
scripts/vendor-face.sh

# --- a model for the page
if [ ! -f www/models/default.safetensors ]; then
  log "www/models/default.safetensors missing: training a tiny MNIST model (2 steps)"
  tmp="$(mktemp -d -t glow-e2e-model-XXXXXX)"
  cargo run -q --release -p trainer -- train --data ../shared/data/mnist --split-csv ../shared/data/mnist/labels.csv \
    --pad --image-size 32 --channels 1 --levels 2 --depth 2 --width 16 --batch 8 --steps 2 --warmup 1 \
    --init-images 16 --backend cpu --out "$tmp/run" >"$tmp/train.log" 2>&1 \
    || { cat "$tmp/train.log" >&2; exit 1; }
  mkdir -p www/models
  [ -f www/models/default.safetensors ] || cp "$tmp/run/model.safetensors" www/models/default.safetensors
  rm -rf "$tmp"
fi

# --- the page's package
log "building the page's wasm package (scripts/build-page.sh)"
scripts/build-page.sh

# --- static server on a free port
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
work="$(mktemp -d -t glow-e2e-XXXXXX)"
scripts/http-server.py "$PORT" --quiet >"$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/index.html')" 2>/dev/null && break
  sleep 0.2
done

mkdir -p test-output/e2e
export XDG_RUNTIME_DIR="$work/xdg"; mkdir -m 700 -p "$XDG_RUNTIME_DIR"
log "running tests/e2e/run.mjs (every case) against http://127.0.0.1:$PORT/"
set +e
BASE_URL="http://127.0.0.1:$PORT" OUT_DIR="$PWD/test-output/e2e" USER_DATA_DIR="$work/profile" \
  CHROMIUM="$CHROMIUM" DATA_DIR="$PWD/../shared/data" GLOW_E2E_MODEL="${GLOW_E2E_MODEL:-}" \
  E2E_ONLY="${E2E_ONLY:-}" node tests/e2e/run.mjs
rc=$?
set -e
[ "$rc" -eq 0 ] && log "passed (screenshots in test-output/e2e/)" || echo "test-e2e: FAILED (exit $rc)" >&2
exit "$rc"
