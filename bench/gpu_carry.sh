#!/usr/bin/env bash
# Build carry/ (git-ignored, under 64 MiB) for one GPU session of the `device` tool, which has torch, torchvision,
# onnxruntime and OpenCV but no fastai and no network: the wheels it lacks (for its Python 3.12), and face-mask-4k and
# mask-scenes-571 prepared with 224-px caches. Then, on the device:  bash bench/gpu_session.sh  (with carry: ["carry"]).
#
#   MASK_RECOG_DATA=../shared/datasets bash bench/gpu_carry.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=${MASK_RECOG_DATA:?set MASK_RECOG_DATA to the folder holding face-mask-4k and mask-scenes-571}
size=${CARRY_SIZE:-224}
rm -rf carry; mkdir -p carry/wheels carry/prepared
ver() { python -c "import importlib.metadata as m; print(m.version('$1'))"; }
python -m pip download -q --no-deps --python-version 3.12 --only-binary=:all: --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d carry/wheels \
  "fastai==$(ver fastai)" "fastcore==$(ver fastcore)" "fasttransform==$(ver fasttransform)" "fastdownload==$(ver fastdownload)" \
  "plum-dispatch==$(ver plum-dispatch)" "beartype==$(ver beartype)" "fastprogress==1.0.3" \
  "imagehash==$(ver imagehash)" "pywavelets==$(ver pywavelets)" "accelerate==$(ver accelerate)"  # safetensors: timm needs it, so the device has it
for ds in face-mask-4k mask-scenes-571; do
  mask-recog-prepare "$data/$ds" --out "carry/prepared/$ds" --size "$size" | tail -3
done
# The caches are JPEG quality 95; quality 90 for the trip keeps them under the limit (the same files for both recipes)
python - <<'PY'
from pathlib import Path
from PIL import Image
for f in Path('carry/prepared').rglob('cache/**/*.jpg'):
    im = Image.open(f); im.load(); im.save(f, 'JPEG', quality=90)
PY
du -sh carry/wheels carry/prepared/*
total=$(du -sm carry | cut -f1)
if [ "$total" -gt 63 ]; then echo "carry/ is ${total} MiB: over the 64 MiB the device tool carries (try CARRY_SIZE=192)"; exit 1; fi
