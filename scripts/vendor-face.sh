#!/usr/bin/env bash
# Copies the face detector the page uses (npm @vladmandic/face-api, MIT: its ES module with
# TensorFlow.js bundled, the tiny face detector and the 68-point landmark net, all shipped inside
# the npm package) into www/vendor/face-api/, so the page serves them from its own origin (and
# sw.js caches them for offline use). Runs `npm ci` first when the package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=node_modules/@vladmandic/face-api
if [ ! -f "$pkg/dist/face-api.esm.js" ]; then
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  npm ci --no-audit --no-fund
fi
out=www/vendor/face-api
mkdir -p "$out/model"
cp "$pkg/dist/face-api.esm.js" "$pkg/LICENSE" "$out/"
for m in tiny_face_detector_model face_landmark_68_model; do
  cp "$pkg/model/$m.bin" "$pkg/model/$m-weights_manifest.json" "$out/model/"
done
echo "vendor-face: $(du -sh "$out" | cut -f1) in $out"
