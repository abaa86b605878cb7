#!/usr/bin/env bash
# Writes www/models/celeba-align.json: where CelebA's aligned crops put the eyes and mouth, found by
# the page's detector over the first N (300) test-split faces of ../shared/data/celeba64.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/vendor-face.sh
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
scripts/http-server.py "$PORT" --quiet >/dev/null 2>&1 &
server=$!
profile="$(mktemp -d -t glow-align-XXXXXX)"
trap 'kill $server; rm -rf "$profile"' EXIT
sleep 1
BASE_URL="http://127.0.0.1:$PORT" USER_DATA_DIR="$profile" DATA_DIR="$PWD/../shared/data" node benches/web/align-reference.mjs "${1:-300}"
