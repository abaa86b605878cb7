#!/usr/bin/env bash
# Sets everything up (idempotent) and runs every test:
#   native tests on the GPU backend (lavapipe here) and the CPU backends, shader validation,
#   the browser tests in headless Chromium on WebGPU, formatting and clippy's lints (inside the
#   test builds), and `cargo check` for Windows and macOS targets. About 21 minutes from a fresh
#   clone on a 2-core machine (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
scripts/setup.sh
printf '=== setup took %ds\n' $((SECONDS - START))
export PATH="$HOME/.cargo/bin:$PATH"
XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d -t glow-xdg-XXXXXX)}"
chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null || true
export XDG_RUNTIME_DIR

START=$SECONDS
step() { printf '\n=== [%dm%02ds] %s\n' $(((SECONDS - START) / 60)) $(((SECONDS - START) % 60)) "$*"; }

# Clippy lints the workspace's crates as part of the test builds, instead of in a separate
# `cargo clippy --workspace --all-targets -- -D warnings` run, which would check the whole
# dependency tree once more (about 2.5 minutes here): clippy-driver as the workspace's rustc
# wrapper is what `cargo clippy` itself runs, and `CLIPPY_ARGS` is how it passes `-D warnings`.
# `cargo test` builds every target `--all-targets` lints (lib, bins, tests, examples; no benches).
clippy_driver="$(command -v clippy-driver)" || { echo "test: clippy-driver not found (rustup component add clippy)" >&2; exit 2; }
linted() { RUSTC_WORKSPACE_WRAPPER="$clippy_driver" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" "$@"; }

step "format"
cargo fmt --all -- --check

step "native tests (GPU backend on the default adapter, CPU backends), built with clippy's lints"
linted cargo test --workspace

step "distributed training over MPI (mpirun -np 2; CPU backend and the default adapter), built with clippy's lints"
linted cargo test -p trainer --features distributed --test distributed

step "browser tests (headless Chromium, WebGPU)"
scripts/test-web.sh

step "web page end to end (headless Chromium, WebGPU and CPU fallback)"
BUILD_PAGE_LINT=1 scripts/test-e2e.sh # (its page build: the threaded wasm under clippy's lints)

step "other platforms compile (wgpu Metal / DX12 backends)"
cargo check --lib --target x86_64-pc-windows-msvc --target aarch64-apple-darwin # one cargo: both at once

step "all tests passed"
