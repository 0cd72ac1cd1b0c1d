#!/usr/bin/env bash
# On the GPU machine, from the repository root, after bench/gpu_carry.sh built carry/ here: install the carried wheels
# (without touching its torch), then run every GPU measurement in one go. Figures land in $OUT (default: gpu_out/).
set -uo pipefail
export OUT=${OUT:-gpu_out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps carry/wheels/*.whl 2>&1 | tail -2
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PYTHONUNBUFFERED=1 python3 bench/gpu_session.py "$@" 2>&1 | tee "$OUT/session.log"
