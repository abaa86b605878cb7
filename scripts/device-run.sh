#!/usr/bin/env bash
# The prepared run for a lent GPU machine (the `device` tool; its machine has no Rust and no
# network, so everything is built and packed here first).
#
#   scripts/device-run.sh prepare      # HERE: builds, packs binaries, Vulkan loaders, data (~50 MiB)
#   # then the device tool's `run` with carry [".device", ".gl"], timeout_s 590, command:
#   bash scripts/device-run.sh run       # THERE: GPU tests, benchmarks, training; results in $OUT
#   DEVICE_SMOKE=1 OUT=/tmp/out scripts/device-run.sh run   # HERE: a 2-minute check of the script
#
# What `run` does, in its ~9.5 minutes: the GPU test binaries on the real adapter (Vulkan),
# encode / decode / training-step throughput with GFLOP/s and the share of the fp32 peak
# (examples/gpu_bench), then trains the face model from the shipped weights
# (`--init-weights www/models/default.safetensors`) on the packed CelebA subset for the minutes
# left, and writes to $OUT: tests.txt, bench.txt, the run's log.csv and bpd.png, and
# face.safetensors (the EMA weights, f32). Record what it measured in BENCHMARKS.md and ship the
# weights with scripts/ship-model.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
PACK=.device
TRAIN_IMAGES=${TRAIN_IMAGES:-6000}
TEST_IMAGES=${TEST_IMAGES:-256}
PEAK_TFLOPS=${PEAK_TFLOPS:-67}   # H200 SXM fp32 (non-tensor) peak
TESTS="ops_gpu grad_conv grad_ops train model invconv_ops optim_ops train_split"

prepare() {
    set -e
    grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo /.device/ >> .git/info/exclude
    grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >> .git/info/exclude
    rm -rf "$PACK" && mkdir -p "$PACK/bin" "$PACK/data"
    cargo build --release -p trainer
    cargo build --release --example gpu_bench
    local json exe
    json=$(cargo test --release --no-run --message-format=json --test native 2>/dev/null)
    exe=$(printf '%s\n' "$json" | grep -o "\"executable\":\"[^\"]*/deps/native-[0-9a-f]*\"" | tail -1 | cut -d'"' -f4)
    [ -n "$exe" ] || { echo "no native test binary"; exit 1; }
    cp "$exe" "$PACK/bin/native"
    cp target/release/trainer target/release/examples/gpu_bench "$PACK/bin/"
    strip "$PACK"/bin/*
    xz -9 -T2 "$PACK"/bin/*
    # a CelebA subset: the first TRAIN_IMAGES train and TEST_IMAGES test rows of attributes.csv
    local src=../shared/data/celeba64
    head -1 "$src/attributes.csv" > "$PACK/data/attributes.csv"
    grep -m "$TRAIN_IMAGES" ',train,' "$src/attributes.csv" >> "$PACK/data/attributes.csv"
    grep -m "$TEST_IMAGES" ',test,' "$src/attributes.csv" >> "$PACK/data/attributes.csv"
    tail -n +2 "$PACK/data/attributes.csv" | cut -d, -f1 | (cd "$src" && xargs cp --parents -t "$OLDPWD/$PACK/data")
    # Vulkan / EGL loaders for the device machine (its README: it may lack libvulkan)
    if [ ! -d .gl ] || ! ls .gl/libvulkan1*.deb >/dev/null 2>&1; then
        mkdir -p .gl /tmp/amd64/partial
        local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
        apt-get $o update -qq
        (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
    fi
    du -sh "$PACK" .gl
    echo "working tree that travels (limit 64 MiB):"
    du -cb $(git ls-files) "$PACK" .gl 2>/dev/null | tail -1
}

run() {
    local t0=$SECONDS out=${OUT:-/tmp/out} budget=540 bench_args=(--reps 5) batch=64 every=25
    mkdir -p "$out" /tmp/bin
    if [ -n "${DEVICE_SMOKE:-}" ]; then
        # a quick check of this script here (lavapipe): one test module, the small bench, 60 s of training
        TESTS=train_split budget=150 bench_args=(--small --reps 1) batch=2 every=1
    else
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
        export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
        export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    fi
    export XDG_RUNTIME_DIR=/tmp
    for f in "$PACK"/bin/*.xz; do xz -dc "$f" > "/tmp/bin/$(basename "$f" .xz)"; done
    chmod +x /tmp/bin/*
    # the test binaries name their sources by the path they were built at
    mkdir -p /work && [ -e /work/main ] || ln -s "$PWD" /work/main
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt" 2>&1
    {
        for t in $TESTS; do
            echo "=== $t"
            timeout 120 /tmp/bin/native --test-threads 1 "$t::" 2>&1 | tail -25
        done
    } > "$out/tests.txt" 2>&1
    echo "tests done at $((SECONDS - t0)) s" | tee -a "$out/tests.txt"
    timeout 150 /tmp/bin/gpu_bench "${bench_args[@]}" --peak-tflops "$PEAK_TFLOPS" > "$out/bench.txt" 2>&1
    echo "bench done at $((SECONDS - t0)) s" | tee -a "$out/bench.txt"
    # train for what is left of ~9 minutes, then export the EMA weights
    local left=$((budget - (SECONDS - t0)))
    [ "$left" -gt 60 ] || left=60
    timeout "$left" /tmp/bin/trainer train --data "$PACK/data" --split-csv "$PACK/data/attributes.csv" \
        --image-size 64 --n-bits 5 --batch "$batch" --warmup 50 --steps 100000 --flip --eval-every 200 \
        --eval-images 256 --checkpoint-every "$every" --ema-epochs 0.5 \
        --init-weights www/models/default.safetensors --out /tmp/run > "$out/train.txt" 2>&1
    /tmp/bin/trainer export --weights /tmp/run/checkpoint.safetensors --out "$out/face.safetensors" >> "$out/train.txt" 2>&1
    cp /tmp/run/log.csv /tmp/run/bpd.png "$out/" 2>/dev/null
    echo "all done at $((SECONDS - t0)) s" | tee -a "$out/train.txt"
    for f in tests bench train; do tail -n 3 "$out/$f.txt"; done
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: $0 prepare | run" >&2; exit 2 ;;
esac
