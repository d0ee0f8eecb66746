#!/usr/bin/env bash
# The GPU checks of DESIGN.md §8, in two halves.
#
#   scripts/gpu-check.sh build [DIR]   On the build machine (Rust toolchain, no GPU needed): builds
#                                      the release binary and the release GPU test binary (tests/gpu.rs)
#                                      and stages them, stripped, in DIR (default target/gpu-check,
#                                      git-ignored, at most 60 MiB, the binaries gzipped) with this script, the CUDA headers
#                                      from .venv and the real-weight test models that fit.
#   DIR/gpu-check.sh run               On the GPU machine (no toolchain, no registry): points the loader
#                                      at the CUDA libraries of the image's Python (nvidia/*/lib in its
#                                      site-packages), runs the GPU tests (CUDA vs CPU parity), then
#                                      `rtforge bench` on the zoo models with CPU, GPU FP32 and GPU FP16,
#                                      and prints one summary table. Record the outcome in docs/gpu-log.md.
#   DIR/gpu-check.sh perf              The speed half only: ResNet-50 FP16 at batch 1 and 32, the batch-32
#                                      per-kernel profile (--dump-profile) and the PyTorch peer.
set -euo pipefail

# What the GPU machine is sent, with the repository's own files, must stay under 64 MiB.
LIMIT_BYTES=$((60 * 1024 * 1024))
mode=${1:-}

build() {
  cd "$(dirname "$0")/.."
  local out=${1:-target/gpu-check}
  echo "==> release binary"
  nice -n 19 cargo build --release --features cuda
  echo "==> release GPU test binary"
  local test_bin
  test_bin=$(nice -n 19 cargo test --release --no-run --features cuda --test gpu --message-format=json \
    | grep '"reason":"compiler-artifact"' | grep '"name":"gpu"' \
    | grep -o '"executable":"[^"]*"' | tail -n1 | sed 's/"executable":"\(.*\)"/\1/')
  [ -n "$test_bin" ] && [ -x "$test_bin" ] || { echo "gpu-check: no GPU test binary in cargo's output" >&2; exit 1; }
  rm -rf "$out" && mkdir -p "$out/models"
  # Debug info is most of the size; the carried copies do without it.
  strip --strip-debug -o "$out/rtforge" target/release/rtforge
  strip --strip-debug -o "$out/gpu-tests" "$test_bin"
  # Carried compressed (a third of the size): `run` unpacks them.
  tar -C "$out" -czf "$out/bin.tar.gz" rtforge gpu-tests
  rm "$out/rtforge" "$out/gpu-tests"
  cp scripts/gpu-check.sh "$out/gpu-check.sh"
  cp scripts/torch-peer.py "$out/torch-peer.py"
  # Headers for NVRTC, used when the GPU machine's Python has none (RTFORGE_CUDA_INCLUDE).
  local inc
  inc=$(ls -d .venv/lib/python3*/site-packages/nvidia/cu13/include 2>/dev/null | head -n1 || true)
  if [ -n "$inc" ]; then
    cp -r "$inc" "$out/include"
  else
    echo "gpu-check: no CUDA headers in .venv (run scripts/setup-cuda.sh); the GPU machine must have its own" >&2
  fi
  # Real-weight models, smallest first, while the folder stays under the limit.
  for m in ch_ppocr_mobile_v2.0_cls_infer magika_standard_v3_3 silero_vad_16k_op15 silero_vad_16k_sequence ch_PP-OCRv4_det_infer ch_PP-OCRv4_rec_infer; do
    local f="testdata/models/$m.onnx"
    [ -f "$f" ] || continue
    local now size
    now=$(du -sb "$out" | cut -f1)
    size=$(stat -c %s "$f")
    if [ $((now + size)) -le $LIMIT_BYTES ]; then cp "$f" "$out/models/"; else echo "gpu-check: $m left out (size limit)"; fi
  done
  local total
  total=$(du -sb "$out" | cut -f1)
  if [ "$total" -gt "$LIMIT_BYTES" ]; then
    echo "gpu-check: $out is $((total / 1048576)) MiB, over the $((LIMIT_BYTES / 1048576)) MiB limit" >&2
    exit 1
  fi
  echo "gpu-check: staged $out ($((total / 1048576)) MiB):"
  ls -la "$out" "$out/models"
}

# Points the loader and NVRTC at the image's CUDA libraries and headers; says what it found.
setup_env() {
  local here
  here=$(cd "$(dirname "$0")" && pwd)
  cd "$here"
  [ -x rtforge ] || tar -xzf bin.tar.gz
  py=${PYTHON:-python3}
  # The image's CUDA libraries: every nvidia/*/lib folder of its Python's site-packages.
  local libs="" incl=""
  for sp in $("$py" -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null); do
    for d in "$sp"/nvidia/*/lib; do [ -d "$d" ] && libs="$libs${libs:+:}$d"; done
    for d in "$sp"/nvidia/*/include; do
      [ -z "$incl" ] && [ -f "$d/cuda_fp16.h" ] && incl=$d
    done
  done
  export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export RTFORGE_CUDA_INCLUDE=${RTFORGE_CUDA_INCLUDE:-${incl:-$here/include}}
  export RTFORGE_TESTDATA=$here/models
  export RTFORGE_BIN=$here/rtforge
  echo "==> device"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "(no nvidia-smi)"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "RTFORGE_CUDA_INCLUDE=$RTFORGE_CUDA_INCLUDE"
}

# The performance half only: ResNet-50 FP16 with CUDA graphs at batch 1 and 32, the batch-32
# per-kernel profile, and the PyTorch peer. For iterating on speed without the whole test run.
perf() {
  setup_env
  mkdir -p reports
  echo "==> bench: ResNet-50 batch 1, GPU FP32 (TF32) and FP16 with CUDA graphs"
  ./rtforge bench --model zoo:resnet50 --backend cuda --fp16 --use-cuda-graph --duration 3 \
    --report reports/resnet50-b1.json || echo "gpu-check: bench resnet50 batch 1 failed"
  batch32
  echo "==> the GPU peer: PyTorch ResNet-50 FP16, eager and CUDA graph (this image's torch)"
  "$py" torch-peer.py --batch 1,32 | tee reports/torch-peer.jsonl || echo "gpu-check: torch peer failed"
}

# ResNet-50 batch 32, GPU FP32 (TF32) and FP16 with CUDA graphs: with the copies, then with the
# input resident on the device (--no-data-transfers, as the PyTorch peer times it), then the
# per-layer and per-kernel profile.
batch32() {
  echo "==> bench: ResNet-50 batch 32 throughput, GPU FP32 (TF32) and FP16 with CUDA graphs"
  ./rtforge bench --model zoo:resnet50 --batch 32 --backend cuda --fp16 --use-cuda-graph --duration 3 \
    --report reports/resnet50-b32.json || echo "gpu-check: bench resnet50 batch 32 failed"
  echo "==> bench: the same without host-device copies (input resident on the device)"
  ./rtforge bench --model zoo:resnet50 --batch 32 --backend cuda --fp16 --use-cuda-graph --duration 3 \
    --no-data-transfers --report reports/resnet50-b32-resident.json \
    || echo "gpu-check: bench resnet50 batch 32 without transfers failed"
  echo "==> profile: ResNet-50 batch 32, per layer and per kernel"
  ./rtforge bench --model zoo:resnet50 --batch 32 --backend cuda --fp16 --duration 1 --dump-profile 5 \
    || echo "gpu-check: profile failed"
}

run() {
  setup_env
  echo "==> GPU tests (CUDA vs CPU)"
  local tests_rc=0
  ./gpu-tests --test-threads=1 2>&1 | tee gpu-tests.log || tests_rc=$?

  echo "==> bench: CPU FP32, GPU FP32 (TF32), GPU FP16, CUDA graphs; the speedup table per model"
  mkdir -p reports plans
  local model
  for model in resnet18 resnet50 mobilenetv2 bert; do
    ./rtforge bench --model "zoo:$model" --backend cpu,cuda --fp16 --use-cuda-graph --duration 3 \
      --report "reports/$model.json" || echo "gpu-check: bench $model failed"
  done
  batch32
  echo "==> a plan built for the device's arch, run from its PTX"
  if ./rtforge build --onnx zoo:resnet50 --backend cuda --fp16 --save-engine plans/resnet50-fp16.plan; then
    ./rtforge bench --engine plans/resnet50-fp16.plan --use-cuda-graph --duration 3 \
      || echo "gpu-check: bench of the resnet50 fp16 plan failed"
  else
    echo "gpu-check: build resnet50 fp16 failed"
  fi
  echo "==> the GPU peer: PyTorch ResNet-50 FP16, eager and CUDA graph (this image's torch)"
  "$py" torch-peer.py --batch 1,32 | tee reports/torch-peer.jsonl || echo "gpu-check: torch peer failed"

  echo
  echo "==> summary"
  grep -h "gpu-parity:\|SKIPPED\|test result:" gpu-tests.log || true
  "$py" - reports <<'PY' || echo "(no bench reports to summarise)"
import json, pathlib, sys
rows = []
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    rep = json.loads(f.read_text())
    for r in rep.get("results", []):
        if r.get("streams", 1) != 1:
            continue
        lat = (r.get("latency_ms") or {}).get("median")
        comp = (r.get("compute_ms") or {}).get("median")
        rows.append((f.stem, r["backend"], r["precision"], r["batch"], lat, comp, r.get("throughput_qps")))
cpu = {(m, b): lat for m, be, p, b, lat, _, _ in rows if be == "cpu" and p == "fp32"}
print(f"{'model':<24}{'backend':<8}{'prec':<6}{'batch':>6}{'latency ms':>12}{'compute ms':>12}{'qps':>10}{'vs cpu':>8}")
for m, be, p, b, lat, comp, qps in rows:
    base = cpu.get((m, b))
    sp = f"{base / lat:.1f}x" if base and lat else "-"
    f = lambda x, d=3: f"{x:.{d}f}" if isinstance(x, (int, float)) else "-"
    print(f"{m:<24}{be:<8}{p:<6}{b:>6}{f(lat):>12}{f(comp):>12}{f(qps, 1):>10}{sp:>8}")
peer = pathlib.Path(sys.argv[1]) / "torch-peer.jsonl"
if peer.exists():
    for line in peer.read_text().splitlines():
        r = json.loads(line)
        if "skipped" in r:
            print(f"pytorch peer skipped: {r['skipped']}")
            continue
        print(f"{'resnet50':<24}{'torch':<8}{'fp16':<6}{r['batch']:>6}{r['median_ms']:>12.3f}{'-':>12}{r['images_per_s'] / r['batch']:>10.1f}  ({r['mode']})")
PY
  if grep -q "SKIPPED: no GPU" gpu-tests.log; then
    echo "gpu-check: the CUDA backend found no usable GPU here (see the SKIPPED lines above)" >&2
    tests_rc=1
  fi
  echo "GPU tests: $([ "$tests_rc" = 0 ] && echo passed || echo "FAILED (exit $tests_rc)")"
  return "$tests_rc"
}

case "$mode" in
  build) shift; build "$@" ;;
  run) run ;;
  perf) perf ;;
  *) echo "usage: scripts/gpu-check.sh build [DIR]   |   DIR/gpu-check.sh run|perf" >&2; exit 2 ;;
esac
