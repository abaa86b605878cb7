#!/usr/bin/env bash
# Builds the web page's wasm package into www/pkg/ (glowgpu.js, glowgpu_bg.wasm, .d.ts):
#   scripts/build-page.sh
# What `wasm-pack build --release --target web --out-dir www/pkg` did, without wasm-pack (one
# tool less to compile in setup): a release cdylib for wasm32-unknown-unknown (SIMD128 from
# .cargo/config.toml), then wasm-bindgen's JS glue for ES modules. No wasm-opt: binaryen cannot
# be downloaded here and Debian's binaryen 108 breaks the module.
# The release build shares its dependencies with the browser tests (scripts/test-web.sh builds
# them in release too).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
command -v wasm-bindgen >/dev/null 2>&1 || { echo "build-page: 'wasm-bindgen' not found (run scripts/setup.sh)" >&2; exit 2; }

cargo build --quiet --release --lib --target wasm32-unknown-unknown
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
wasm="$target_dir/wasm32-unknown-unknown/release/glowgpu.wasm"
[ -f "$wasm" ] || { echo "build-page: $wasm was not built" >&2; exit 1; }

# Build beside www/pkg and swap in whole, so a failed build never leaves a half-written package.
tmp="$(mktemp -d www/.pkg-XXXXXX)"; chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
wasm-bindgen --target web --out-dir "$tmp" --out-name glowgpu "$wasm"
rm -rf www/pkg.old
[ -d www/pkg ] && mv www/pkg www/pkg.old
mv "$tmp" www/pkg
rm -rf www/pkg.old
echo "build-page: www/pkg/ ($(du -k www/pkg/glowgpu_bg.wasm | cut -f1) KiB of wasm)"
