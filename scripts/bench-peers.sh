#!/usr/bin/env bash
# The peer benchmark (docs: BENCHMARKS "Peers"): rtforge vs onnxruntime vs tract-onnx in one process,
# same model files, same seeded inputs, same thread count (tract single-threaded), interleaved.
# 1. the pinned .venv (scripts/setup-python.sh) provides libonnxruntime from the onnxruntime wheel;
# 2. the zoo models are exported into testdata/peers/ (resnet50, mobilenetv2, bert seq 128; batch 1, 8);
# 3. benches/peers (its own cargo package, so ort and tract never enter the main build) runs in release.
#
# Usage: scripts/bench-peers.sh [--threads N] [MODEL.onnx ...] [other options of benches/peers]
#   With no MODEL the six zoo models above are measured. Other options pass through
#   (e.g. --min-seconds 5 --json out.json; `cargo run --release --manifest-path
#   benches/peers/Cargo.toml -- --help` lists them).
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=2
MODELS=()
PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --threads=*) THREADS=${1#*=}; shift ;;
    *.onnx) MODELS+=("$1"); shift ;;
    *) PASS+=("$1"); shift ;;
  esac
done

scripts/setup-python.sh
ORT_DYLIB_PATH=$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.32.0 | head -n 1)
[ -f "$ORT_DYLIB_PATH" ] || { echo "bench-peers: libonnxruntime.so.1.32.0 not found in .venv" >&2; exit 1; }
export ORT_DYLIB_PATH

if [ ${#MODELS[@]} -eq 0 ]; then
  cargo build --release --bin rtforge
  mkdir -p testdata/peers
  for batch in 1 8; do
    for name in resnet50 mobilenetv2 bert; do
      out=testdata/peers/${name}_b${batch}.onnx
      # Re-exported every time: seconds, and never stale when the zoo changes.
      target/release/rtforge zoo export "$name" -o "$out" --batch "$batch" --seq 128
      MODELS+=("$out")
    done
  done
fi

cargo run --release --manifest-path benches/peers/Cargo.toml -- --threads "$THREADS" "${PASS[@]}" "${MODELS[@]}"
