#!/usr/bin/env bash
# Generates the ONNX node conformance suite into target/onnx-node/ (read by tests/onnx_node.rs).
# The onnx wheel ships the case generators, not the data; only the node cases are generated here
# (1884 of them for onnx==1.23.2, ~56 MB, a few seconds). Skipped when already complete.
set -euo pipefail
cd "$(dirname "$0")/.."

EXPECTED_CASES=1884
OUT=target/onnx-node

count_cases() {
  if [ -d "$OUT/node" ]; then
    find "$OUT/node" -mindepth 1 -maxdepth 1 -type d | wc -l
  else
    echo 0
  fi
}

if [ "$(count_cases)" -eq "$EXPECTED_CASES" ]; then
  echo "onnx-node-tests: $OUT/node already holds $EXPECTED_CASES cases"
  exit 0
fi

scripts/setup-python.sh
# A partial or stale tree would mix cases from two generator versions.
rm -rf "$OUT"
mkdir -p "$OUT"
.venv/bin/python - <<'PY'
import argparse, onnx.backend.test.cmd_tools as ct, onnx.backend.test.case.node as node
ct.model_test = type("M", (), {"collect_testcases": staticmethod(node.collect_testcases)})
ct.generate_data(argparse.Namespace(output="target/onnx-node"))
PY

got="$(count_cases)"
if [ "$got" -ne "$EXPECTED_CASES" ]; then
  echo "onnx-node-tests: generated $got cases, expected $EXPECTED_CASES" >&2
  exit 1
fi
echo "onnx-node-tests: generated $got cases into $OUT/node"
