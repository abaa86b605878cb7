#!/usr/bin/env bash
# The page's CPU path before and after SIMD128 and the worker split, in one headless Chromium
# session (benches/web/cpu.mjs). Builds www/pkg (SIMD128, .cargo/config.toml) and a package
# without SIMD128 into target/pkg-nosimd, serves the repository root, prints a Markdown table.
#   benches/web/run.sh ['models=a.safetensors,b.safetensors&batches=1,16&rounds=5&workers=2']
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build -q --release --target wasm32-unknown-unknown --lib
wasm-bindgen --target web --out-dir www/pkg target/wasm32-unknown-unknown/release/glowgpu.wasm
CARGO_TARGET_DIR=target/nosimd CARGO_ENCODED_RUSTFLAGS="" cargo build -q --release --target wasm32-unknown-unknown --lib
wasm-bindgen --target web --out-dir target/pkg-nosimd target/nosimd/wasm32-unknown-unknown/release/glowgpu.wasm
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
scripts/http-server.py "$PORT" --quiet >/dev/null 2>&1 &
server=$!
profile="$(mktemp -d -t glow-bench-XXXXXX)"
trap 'kill $server; rm -rf "$profile"' EXIT
sleep 1
BASE_URL="http://127.0.0.1:$PORT" USER_DATA_DIR="$profile" node benches/web/run.mjs "${1:-}"
