#!/usr/bin/env bash
# Installs the PyTorch side of the side-by-side benchmark (benches/torch/) into its own venv,
# benches/torch/.venv (ignored). Idempotent. Not run by the test command.
# PyPI's torch is a CUDA build: `import torch` needs the NVIDIA runtime wheels it depends on even
# on a machine without a GPU, so the plain `pip install torch` (which pulls them) is what works here.
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import torch, onnxruntime, onnx, numpy' 2>/dev/null; then
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet torch==2.15.0 onnxruntime==1.32.0 onnx numpy
fi
"$VENV/bin/python" -c 'import torch, onnxruntime; print("torch", torch.__version__, "onnxruntime", onnxruntime.__version__)'
