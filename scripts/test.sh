#!/usr/bin/env bash
# Sets everything up (idempotent) and runs every test:
#   native tests on the GPU backend (lavapipe here) and the CPU backends, shader validation,
#   the browser tests in headless Chromium on WebGPU, formatting/lints, and `cargo check` for
#   Windows and macOS targets.
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

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

step "native tests (GPU backend on the default adapter, CPU backends)"
cargo test --workspace

step "distributed training over MPI (mpirun -np 2; CPU backend and the default adapter)"
cargo clippy -p trainer --all-targets --features distributed -- -D warnings
cargo test -p trainer --features distributed --test distributed

step "browser tests (headless Chromium, WebGPU)"
scripts/test-web.sh

step "web page end to end (headless Chromium, WebGPU and CPU fallback)"
scripts/test-e2e.sh

step "other platforms compile (wgpu Metal / DX12 backends)"
cargo check --lib --target x86_64-pc-windows-msvc --target aarch64-apple-darwin # one cargo: both at once

step "all tests passed"
