#!/usr/bin/env bash
# Turns a finished training run into the files the page ships, and prints the model card's figures:
#   scripts/ship-model.sh <run folder> <name> <data folder> <split csv> [extra data flags, e.g. --pad]
# e.g. scripts/ship-model.sh runs/celeba default ../shared/data/celeba64 ../shared/data/celeba64/attributes.csv
# Writes www/models/<name>.safetensors (f16 EMA weights of <run>/model.safetensors, or of its
# checkpoint.safetensors for a run stopped early; the checkpoint is copied first, so a run still
# training may overwrite its own), with CARRY=1 trainer/carry/<name>.adamax.safetensors (Adamax's
# state for the next session, scripts/opt-carry.py), <name>.attributes.safetensors (the
# direction of every 0/1 column of the CSV over the train split), sample grids at T = 0.7 and 1.0,
# the training curve, and www/models/<name>.eval.txt: test bits/dim of the f32 and f16 weights on
# the whole test split and the fixed subset the tests re-check (first 256 test images, batches of
# 32, noise seed b for batch b). Runs on the CPU backend (faster than lavapipe); set BACKEND=gpu on
# a machine with a real GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
run=$1 name=$2 data=$3 csv=$4
shift 4
backend=${BACKEND:-cpu}
t=target/release/trainer
cargo build --release -p trainer
out=www/models
# the run's final EMA weights, or those of its last checkpoint when it was stopped early
src="$run/model.safetensors"
ck="$run/shipped-checkpoint.safetensors"
[ -f "$run/checkpoint.safetensors" ] && cp "$run/checkpoint.safetensors" "$ck.tmp" && mv "$ck.tmp" "$ck"
if [ ! -f "$src" ]; then
  src="$run/ema.safetensors"
  "$t" export --weights "$ck" --out "$src"
fi
"$t" export --weights "$src" --out "$out/$name.safetensors" --f16
# CARRY=1: Adamax's state beside the shipped weights, so that the next session resumes this
# optimizer and data stream (scripts/opt-carry.py load) instead of warm-starting a fresh one;
# refused unless the shipped weights are the checkpoint's EMA. Off by default: 2 bytes per
# parameter committed per ship, and session 15 found the warm starts' loss in their replayed
# data stream (fixed: a warm start's seed is the weights' hash), not shown in the optimizer.
if [ "${CARRY:-0}" = 1 ]; then
  mkdir -p trainer/carry
  if ! { [ -f "$ck" ] && python3 scripts/opt-carry.py save "$ck" "$out/$name.safetensors" "trainer/carry/$name.adamax.safetensors"; }; then
    echo "no optimizer carry: trainer/carry/$name.adamax.safetensors removed" >&2
    rm -f "trainer/carry/$name.adamax.safetensors"
  fi
fi
{
  echo "# $(date -u +%FT%TZ) $run -> $out/$name.safetensors ($backend backend)"
  echo "full test split, f32 EMA weights:"
  "$t" eval --weights "$src" --data "$data" --split-csv "$csv" "$@" --batch 50 --backend "$backend"
  echo "full test split, shipped f16 weights:"
  "$t" eval --weights "$out/$name.safetensors" --data "$data" --split-csv "$csv" "$@" --batch 50 --backend "$backend"
  echo "fixed subset (256 images, batch 32, seed 0), shipped f16 weights:"
  "$t" eval --weights "$out/$name.safetensors" --data "$data" --split-csv "$csv" "$@" --limit 256 --batch 32 \
    --seed 0 --backend cpu
} | tee "$out/$name.eval.txt"
for temp in 0.7 1.0; do
  "$t" sample --weights "$out/$name.safetensors" --out "$out/${name}_samples_t$temp.png" --n 36 \
    --temperature "$temp" --seed 3 --backend "$backend"
done
"$t" plot --log "$run/log.csv" --out "$out/${name}_bpd.png"
"$t" attributes --weights "$out/$name.safetensors" --data "$data" --split-csv "$csv" "$@" --batch 50 \
  --backend "$backend" --f16 --out "$out/$name.attributes.safetensors"
ls -la "$out"/"$name"*
