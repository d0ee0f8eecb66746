#!/usr/bin/env bash
# Creates the git-ignored `.venv` at the repository root with the pinned Python packages the tests use:
# `onnx` (node-suite generator, model inspection), `onnxruntime` (reference outputs) and `numpy`.
# Idempotent: when the installed versions already match the pins, pip is not run at all.
set -euo pipefail
cd "$(dirname "$0")/.."

PINS=(onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6)
VENV=.venv

. scripts/lib/pins.sh

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi

if pins_match; then
  echo "setup-python: $VENV already has ${PINS[*]}"
  exit 0
fi

"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
pins_match || { echo "setup-python: installed versions do not match ${PINS[*]}" >&2; exit 1; }
echo "setup-python: installed ${PINS[*]} into $VENV"
