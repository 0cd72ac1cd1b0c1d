#!/usr/bin/env bash
# Every CPU figure of the Results page, measured in one documented run: each script writes its JSON to bench/results/,
# and the page renders its tables from those files (.ci/check_outputs.py fails when a saved table differs from them).
#
#   MASK_RECOG_DATA=… MASK_RECOG_MODELS=… bash bench/results.sh [NAME ...]   # NAME: one of the steps below (default: all)
#
# Run it on an idle machine: the speed figures are the machine's, and the load average at the start and the end of each
# script is recorded beside them. The GPU figures come from bench/gpu_session.sh on a GPU (its summary.json).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MASK_RECOG_DATA:?set MASK_RECOG_DATA to the folder holding face-mask-4k, mask-scenes-571 and face-mask-853}"
: "${MASK_RECOG_MODELS:?set MASK_RECOG_MODELS to the folder holding the detector models}"
R=bench/results
WORK=${MASK_RECOG_BENCH_WORK:-data/bench}
mkdir -p "$R" "$WORK"
RELEASED=$(python -c 'from mask_recog.core import released_model; print(released_model())')
want() { [ -z "$STEPS" ] || [[ " $STEPS " == *" $1 "* ]]; }
STEPS="$*"
step() { echo; echo "== $1 ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))"; }

if want prepare_speed; then step prepare_speed
  python bench/prepare_speed.py "$MASK_RECOG_DATA/face-mask-4k" --out $R/prepare_face-mask-4k.json; fi
if want train_speed; then step train_speed
  [ -f "$WORK/face-mask-4k/manifest.csv" ] || mask-recog-prepare "$MASK_RECOG_DATA/face-mask-4k" --out "$WORK/face-mask-4k"
  python bench/train_speed.py --prepared "$WORK/face-mask-4k" --out $R/train_speed_cpu.json; fi
if want stream_data; then step stream_data
  [ -f "$WORK/face-mask-4k/manifest.csv" ] || mask-recog-prepare "$MASK_RECOG_DATA/face-mask-4k" --out "$WORK/face-mask-4k"
  python bench/stream_data.py --prepared "$WORK/face-mask-4k" --out $R/stream_data.json; fi
if want infer_speed; then step infer_speed
  python bench/infer_speed.py --arch resnet18 --size 96 --out $R/infer_speed_resnet18-96.json
  python bench/infer_speed.py --arch resnet34 --size 224 --out $R/infer_speed_resnet34-224.json; fi
if want detect_speed; then step detect_speed
  python bench/detect_speed.py --out $R/detect_speed.json; fi
if want stream_speed; then step stream_speed
  OMP_NUM_THREADS=1 python bench/stream_speed.py --out $R/stream_speed.json; fi
if want streams_speed; then step streams_speed
  python bench/streams_speed.py --out $R/streams_speed.json; fi
if want scene_detect; then step scene_detect
  python bench/scene_detect.py --out $R/scene_detect.json; fi
if want verify; then step verify
  S="$MASK_RECOG_DATA/mask-scenes-571"
  OMP_NUM_THREADS=1 python bench/verify_mine.py "$S" "$RELEASED" "$WORK/mine_train.npz" --splits train
  OMP_NUM_THREADS=1 python bench/verify_mine.py "$S" "$RELEASED" "$WORK/mine_held.npz" --splits valid,test
  OMP_NUM_THREADS=2 python bench/verify_measure.py "$S" "$WORK/mine_train.npz" "$WORK/mine_held.npz" "$WORK/verify" --epochs 15 --json $R/verify_measure.json; fi
if want gates; then step gates
  [ -f "$WORK/mine_held.npz" ] || OMP_NUM_THREADS=1 python bench/verify_mine.py "$MASK_RECOG_DATA/mask-scenes-571" "$RELEASED" "$WORK/mine_held.npz" --splits valid,test
  OMP_NUM_THREADS=1 python bench/verify_mine.py "$MASK_RECOG_DATA/face-mask-853" "$RELEASED" "$WORK/mine_held_853.npz" --splits valid,test
  python bench/gates.py mask-scenes-571="$WORK/mine_held.npz" face-mask-853="$WORK/mine_held_853.npz" --ignore face-mask-853="$MASK_RECOG_DATA/face-mask-853" --json $R/gates.json; fi
if want verify_sets; then step verify_sets
  for n in mask-scenes-571 face-mask-853; do sfx=$([ $n = face-mask-853 ] && echo _853 || true)
    [ -f "$WORK/mine_train$sfx.npz" ] || OMP_NUM_THREADS=1 python bench/verify_mine.py "$MASK_RECOG_DATA/$n" "$RELEASED" "$WORK/mine_train$sfx.npz" --splits train
    [ -f "$WORK/mine_held$sfx.npz" ] || OMP_NUM_THREADS=1 python bench/verify_mine.py "$MASK_RECOG_DATA/$n" "$RELEASED" "$WORK/mine_held$sfx.npz" --splits valid,test; done
  OMP_NUM_THREADS=2 python bench/verify_sets.py mask-scenes-571="$WORK/mine_train.npz,$WORK/mine_held.npz" face-mask-853="$WORK/mine_train_853.npz,$WORK/mine_held_853.npz" \
    --ignore face-mask-853="$MASK_RECOG_DATA/face-mask-853" --gates $R/gates.json --grid face-mask-853="$MASK_RECOG_DATA/face-mask-853"=images/false_alarms_853.png --json $R/verify_sets.json; fi
if want no_face; then step no_face
  for n in mask-scenes-571 face-mask-853; do sfx=$([ $n = face-mask-853 ] && echo _853 || true)
    [ -f "$WORK/mine_train$sfx.npz" ] || OMP_NUM_THREADS=1 python bench/verify_mine.py "$MASK_RECOG_DATA/$n" "$RELEASED" "$WORK/mine_train$sfx.npz" --splits train
    [ -f "$WORK/mine_held$sfx.npz" ] || OMP_NUM_THREADS=1 python bench/verify_mine.py "$MASK_RECOG_DATA/$n" "$RELEASED" "$WORK/mine_held$sfx.npz" --splits valid,test; done
  OMP_NUM_THREADS=2 python bench/no_face.py mask-scenes-571="$WORK/mine_train.npz,$WORK/mine_held.npz" face-mask-853="$WORK/mine_train_853.npz,$WORK/mine_held_853.npz" \
    --ignore face-mask-853="$MASK_RECOG_DATA/face-mask-853" --json $R/no_face.json; fi
if want rare_class; then step rare_class
  python bench/rare_class.py "$MASK_RECOG_DATA/face-mask-853" --work "$WORK/rare" --json $R/rare_class.json; fi
if want hostile_load; then step hostile_load
  python bench/hostile_load.py --out $R/hostile_load.json; fi
if want cli_help; then step cli_help
  python bench/cli_help.py --out $R/cli_help.json; fi
echo; echo "done ($(date +%T)): $(ls $R | wc -l) files in $R"
