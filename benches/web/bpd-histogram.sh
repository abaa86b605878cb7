#!/usr/bin/env bash
# Writes www/models/default.bpd-hist.json: bits/dim of the default model on the first N (600)
# CelebA test-split faces (../shared/data/celeba64), the histogram the page shows a photo against.
set -euo pipefail
cd "$(dirname "$0")/../.."

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
scripts/http-server.py "$PORT" --quiet >/dev/null 2>&1 &
server=$!
profile="$(mktemp -d -t glow-bpd-XXXXXX)"
trap 'kill $server; rm -rf "$profile"' EXIT
sleep 1
BASE_URL="http://127.0.0.1:$PORT" USER_DATA_DIR="$profile" DATA_DIR="$PWD/../shared/data" node benches/web/bpd-histogram.mjs "${1:-600}"
