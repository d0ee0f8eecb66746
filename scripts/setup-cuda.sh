#!/usr/bin/env bash
# Installs NVRTC and the CUDA headers (cuda_fp16.h, ...) into the git-ignored `.venv` from the pinned
# PyPI wheels, so the CUDA backend's kernels can be compiled to PTX on a machine with no GPU and no
# CUDA toolkit (DESIGN.md §6). Creates the venv first through scripts/setup-python.sh when missing.
# Idempotent: when the installed versions already match the pins, pip is not run at all.
#
# With `--print-env` it prints, instead of installing, the `export` lines that point the crate at
# what it installed (source them, or `eval "$(scripts/setup-cuda.sh --print-env)"`):
#   LD_LIBRARY_PATH       gains nvidia/cu13/lib, where libnvrtc.so.13 is loaded from
#   RTFORGE_CUDA_INCLUDE  nvidia/cu13/include, the headers the kernels include
set -euo pipefail
cd "$(dirname "$0")/.."

PINS=(nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-runtime==13.0.96)
VENV=.venv

site_packages() {
  "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

if [ "${1:-}" = "--print-env" ]; then
  sp=$(site_packages)
  echo "export LD_LIBRARY_PATH=\"$sp/nvidia/cu13/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
  echo "export RTFORGE_CUDA_INCLUDE=\"$sp/nvidia/cu13/include\""
  exit 0
fi

. scripts/lib/pins.sh

[ -x "$VENV/bin/python" ] || scripts/setup-python.sh

if ! pins_match; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
  pins_match || { echo "setup-cuda: installed versions do not match ${PINS[*]}" >&2; exit 1; }
  echo "setup-cuda: installed ${PINS[*]} into $VENV"
else
  echo "setup-cuda: $VENV already has ${PINS[*]}"
fi

# The CUDA 13 wheels share one prefix, nvidia/cu13/{lib,include} (the CUDA 12 ones had one folder per
# package, nvidia/cuda_nvrtc/lib). The layout the crate relies on; a wheel that moved its files is an error here, not a skipped test.
sp=$(site_packages)
for f in nvidia/cu13/lib/libnvrtc.so.13 nvidia/cu13/include/cuda_fp16.h; do
  [ -e "$sp/$f" ] || { echo "setup-cuda: $sp/$f is missing; the wheel layout changed" >&2; exit 1; }
done
