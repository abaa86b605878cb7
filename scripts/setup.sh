#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine. Idempotent:
# every step checks first and skips what is already there.
#   scripts/setup.sh          native build + GPU (lavapipe) + browser test tools
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate version in Cargo.lock
NIGHTLY=nightly-2026-05-19     # the page's threaded wasm build only (scripts/build-page.sh)

log() { printf '[setup] %s\n' "$*"; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

# --- Debian packages: lavapipe (software Vulkan), Chromium + driver (WebGPU tests),
#     OpenMPI + libclang (the trainer's `distributed` feature: the mpi crate's bindings, mpirun)
need_pkgs=()
for p in mesa-vulkan-drivers libvulkan1 chromium chromium-driver openmpi-bin libopenmpi-dev libclang-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "apt-get install ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
else
  log "Debian packages present"
fi

# --- Rust targets: wasm for the page and browser tests; Windows/macOS only for `cargo check`
for t in wasm32-unknown-unknown x86_64-pc-windows-msvc aarch64-apple-darwin; do
  if ! rustup target list --installed | grep -qx "$t"; then
    log "rustup target add $t"; rustup target add "$t"
  fi
done

# --- a pinned nightly with the standard library's source: the page's threaded wasm build
#     rebuilds std with atomics (-Z build-std); everything else builds on stable
#     (clippy: scripts/test.sh lints that build)
if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1 \
  || ! [ -d "$(rustup run "$NIGHTLY" rustc --print sysroot)/lib/rustlib/src/rust/library" ] \
  || ! rustup which --toolchain "$NIGHTLY" clippy-driver >/dev/null 2>&1; then
  log "rustup toolchain install $NIGHTLY (minimal, rust-src, clippy)"
  rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src --component clippy
fi

# --- wasm-bindgen-cli (test runner) at exactly the crate's version
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # No TLS (its default `rustls-tls` only serves downloading browser drivers, which the tests
  # never do: ChromeDriver comes from Debian) and opt-level 1: a tool that runs for seconds need
  # not cost minutes of compiling on a fresh machine.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
    cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --no-default-features --force
fi
log "done"
