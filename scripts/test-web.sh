#!/usr/bin/env bash
# Runs the browser tests (tests/web.rs) in headless Chromium with WebGPU (SwiftShader):
#   scripts/test-web.sh            all browser tests
#   scripts/test-web.sh FILTER     only tests whose name contains FILTER
# Needs chromium, chromium-driver, the wasm32-unknown-unknown target and wasm-bindgen-cli at
# the wasm-bindgen version in Cargo.lock (scripts/setup.sh installs all of them).
# Exits non-zero when any test fails, including when no WebGPU adapter is found.
# Built in release, as the page ships (scripts/build-page.sh): the two builds share their
# dependencies, so the suite compiles the wasm dependency tree once.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
for tool in wasm-bindgen-test-runner "$CHROMEDRIVER"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-web: '$tool' not found (run scripts/setup.sh)" >&2
    exit 2
  fi
done
[ -f webdriver.json ] || { echo "test-web: webdriver.json missing (Chromium needs --enable-unsafe-webgpu)" >&2; exit 2; }

# Private runtime dir: silences Mesa/Chromium warnings, removed on exit.
XDG_RUNTIME_DIR="$(mktemp -d -t glow-web-XXXXXX)"
chmod 700 "$XDG_RUNTIME_DIR"
trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
export XDG_RUNTIME_DIR

export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CHROMEDRIVER
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="${WASM_BINDGEN_TEST_WEBDRIVER_JSON:-$PWD/webdriver.json}"
# Headless browser only (never the interactive server, never node).
unset WASM_BINDGEN_TEST_NO_ORIGIN_ISOLATION NO_HEADLESS WASM_BINDGEN_USE_BROWSER 2>/dev/null || true

log="$(mktemp -t glow-web-log-XXXXXX)"
trap 'rm -rf "$XDG_RUNTIME_DIR" "$log"' EXIT
set +e
for attempt in 1 2; do
  cargo test --release --target wasm32-unknown-unknown --test web -- "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  # wasm-bindgen-test-runner gives ChromeDriver a fixed few seconds to open its port; on a loaded
  # machine its first start can miss that (no test ran). Only that failure is tried again.
  if [ "$rc" -ne 0 ] && [ "$attempt" -eq 1 ] && grep -q 'driver failed to bind port during startup' "$log" \
    && ! grep -Eq 'test result:' "$log"; then
    echo "test-web: ChromeDriver did not start in time; trying once more" >&2
    continue
  fi
  break
done
set -e

# Belt and braces: the runner must have actually run tests and reported success.
if [ "$rc" -eq 0 ]; then
  if ! grep -Eq 'test result: ok\. [1-9][0-9]* passed' "$log"; then
    echo "test-web: no passing test result in the output (did any test run?)" >&2
    rc=1
  elif grep -Eq 'no adapter|found no adapters|GpuBackend::new\(\) failed' "$log"; then
    echo "test-web: WebGPU adapter not found" >&2
    rc=1
  fi
fi
[ "$rc" -eq 0 ] && echo "test-web: all browser tests passed" || echo "test-web: FAILED (exit $rc)" >&2
exit "$rc"
