#!/usr/bin/env bash
# Writes www/models/default.edit-range.json: the edit sliders' range per attribute direction, the
# largest weights at which the first NF (12) CelebA test faces and the page's opening samples
# still decode to finite images in f32, less a margin (benches/web/edit-range.mjs).
#   NF=12 MARGIN=0.1 benches/web/edit-range.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
scripts/http-server.py "$PORT" --quiet >/dev/null 2>&1 &
server=$!
profile="$(mktemp -d -t glow-edit-range-XXXXXX)"
trap 'kill $server; rm -rf "$profile"' EXIT
sleep 1
BASE_URL="http://127.0.0.1:$PORT" USER_DATA_DIR="$profile" DATA_DIR="$PWD/../shared/data" node benches/web/edit-range.mjs
