#!/usr/bin/env bash
# Builds the web page's two wasm packages (glowgpu.js, glowgpu_bg.wasm, .d.ts each):
#   www/pkg/          the plain build: runs anywhere, one thread per worker
#   www/pkg-threads/  the threaded build: rayon's pool on web workers sharing the module's memory
#                     (feature `wasm-threads`), for cross-origin-isolated pages (www/glow.js
#                     picks it; any failure falls back to www/pkg/)
#   scripts/build-page.sh
#   BUILD_PAGE_THREADS=0 scripts/build-page.sh    the plain package only
#   BUILD_PAGE_LINT=1 scripts/build-page.sh       the threaded build under clippy's lints (-D
#                                                 warnings; scripts/test.sh: only this build
#                                                 compiles the web pool's code paths)
# What `wasm-pack build --release --target web` did, without wasm-pack: a release cdylib for
# wasm32-unknown-unknown (SIMD128 from .cargo/config.toml), then wasm-bindgen's JS glue for ES
# modules. No wasm-opt: binaryen cannot be downloaded here and Debian's binaryen 108 breaks the
# module. The plain release build shares its dependencies with the browser tests
# (scripts/test-web.sh builds them in release too).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
NIGHTLY="$(sed -n 's/^NIGHTLY=\([^ ]*\).*/\1/p' scripts/setup.sh)"
command -v wasm-bindgen >/dev/null 2>&1 || { echo "build-page: 'wasm-bindgen' not found (run scripts/setup.sh)" >&2; exit 2; }

target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"

# bindgen WASM OUT: wasm-bindgen's glue beside OUT, swapped in whole, so a failed build never
# leaves a half-written package.
bindgen() {
  local wasm="$1" out="$2" tmp
  [ -f "$wasm" ] || { echo "build-page: $wasm was not built" >&2; exit 1; }
  tmp="$(mktemp -d "www/.pkg-XXXXXX")"; chmod 755 "$tmp"
  wasm-bindgen --target web --out-dir "$tmp" --out-name glowgpu "$wasm" || { rm -rf "$tmp"; exit 1; }
  find "$tmp" -type d -exec chmod 755 {} +
  rm -rf "$out.old"
  [ -d "$out" ] && mv "$out" "$out.old"
  mv "$tmp" "$out"
  rm -rf "$out.old"
  echo "build-page: $out/ ($(du -k "$out/glowgpu_bg.wasm" | cut -f1) KiB of wasm)"
}

cargo build --quiet --release --lib --target wasm32-unknown-unknown
bindgen "$target_dir/wasm32-unknown-unknown/release/glowgpu.wasm" www/pkg

[ "${BUILD_PAGE_THREADS:-1}" = 0 ] && exit 0
# The threaded build: std rebuilt with atomics and bulk memory (nightly's -Z build-std, the
# pinned nightly of scripts/setup.sh), a shared memory imported from JS (rustc no longer asks
# the linker for one by itself) of up to 4 GiB, as the plain build can grow to, and the TLS
# symbols wasm-bindgen's thread setup needs. Its own target directory: other RUSTFLAGS and
# another compiler would otherwise invalidate the plain build's dependencies. It also uses relaxed
# SIMD (gemm's kernels multiply-add in one instruction: vendor/gemm-f32), which www/glow.js
# checks the browser has before it picks this build; the plain build stays on SIMD128 alone.
rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1 \
  || { echo "build-page: toolchain $NIGHTLY not installed (run scripts/setup.sh)" >&2; exit 2; }
flags="-C target-feature=+simd128,+relaxed-simd,+atomics,+bulk-memory,+mutable-globals"
for a in --shared-memory --import-memory --max-memory=4294967296 \
  --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base; do
  flags="$flags -C link-arg=$a"
done
lint=()
if [ "${BUILD_PAGE_LINT:-0}" = 1 ]; then
  lint=(env RUSTC_WORKSPACE_WRAPPER="$(rustup which --toolchain "$NIGHTLY" clippy-driver)"
    CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__")
fi
# (rustc warns that `atomics` is an unstable target feature: that is what this build is)
"${lint[@]}" env RUSTFLAGS="$flags" CARGO_TARGET_DIR="$target_dir/wasm-threads" \
  cargo "+$NIGHTLY" build --quiet --release --lib --target wasm32-unknown-unknown \
  --features wasm-threads -Z build-std=panic_abort,std
bindgen "$target_dir/wasm-threads/wasm32-unknown-unknown/release/glowgpu.wasm" www/pkg-threads
