"""Frames per second of face detection alone and of detection + classification on 640×480 frames with one to three faces,
and the ratio to the 25 frames/s target. Frames are photos of mask-scenes-571 holding one, two and three labelled faces in equal numbers, letterboxed to 640×480.

    python bench/detect_speed.py MODEL_DIR [--frames 60] [--rounds 3] [--backend auto|torch|onnx] [--precision auto|fp32|bf16] [--threads N]

Detector models come from $MASK_RECOG_MODELS, the scenes from $MASK_RECOG_DATA/mask-scenes-571. Each figure is the median of
`--rounds` passes over the frames, after one warm-up pass. The load average is printed: on a shared machine other work slows it.
"""
import os, sys, time, argparse, statistics, platform
from pathlib import Path
import numpy as np, cv2

p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('model_dir', help='classifier model folder (model.json + model.safetensors, model.onnx used with --backend auto when present)')
p.add_argument('--frames', type=int, default=60, help='frames per pass')
p.add_argument('--rounds', type=int, default=3, help='timed passes; the median is reported')
p.add_argument('--backend', default='auto', help="classifier backend: 'auto', 'torch' or 'onnx'")
p.add_argument('--precision', default='auto', help="PyTorch classifier's number format: 'auto' (bf16 where native), 'fp32' or 'bf16'")
p.add_argument('--threads', type=int, default=0, help='threads for PyTorch and OpenCV (0: their defaults)')
p.add_argument('--target', type=float, default=25., help='frames/s target')
a = p.parse_args()

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # as mask-recog-detect sets it: PyTorch's OpenMP threads sleep between frames
from mask_recog.data import scan_yolo
from mask_recog.detectors import YuNet, load_detector, read_bgr
from mask_recog.detect import load_classifier, detect
import torch
if a.threads: torch.set_num_threads(a.threads); cv2.setNumThreads(a.threads)

data = os.environ.get('MASK_RECOG_DATA')
if not data or not (Path(data)/'mask-scenes-571').is_dir(): sys.exit('set MASK_RECOG_DATA to the folder holding mask-scenes-571')
if not os.environ.get('MASK_RECOG_MODELS'): sys.exit('set MASK_RECOG_MODELS to the folder holding the detector models')
scenes = Path(data)/'mask-scenes-571'

def letterbox(im, w=640, h=480):
    "`im` shrunk or enlarged to fit `w`×`h`, centred on black"
    s = min(w / im.shape[1], h / im.shape[0])
    r = cv2.resize(im, (round(im.shape[1] * s), round(im.shape[0] * s)), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    out = np.zeros((h, w, 3), np.uint8); y, x = (h - r.shape[0]) // 2, (w - r.shape[1]) // 2
    out[y:y + r.shape[0], x:x + r.shape[1]] = r
    return out

items, _ = scan_yolo(scenes)
counts = {}
for it in items: counts[it['path']] = counts.get(it['path'], 0) + 1
by_n = {n: [q for q in sorted(counts) if counts[q] == n] for n in (1, 2, 3)}
paths = [q for i in range(a.frames) for q in [by_n[i % 3 + 1][i // 3 % len(by_n[i % 3 + 1])]]]  # as many 1-, 2- and 3-face photos
frames = [letterbox(read_bgr(scenes/q)) for q in paths]

def fps(fn):
    for f in frames[:5]: fn(f)
    ts = []
    for _ in range(a.rounds):
        t = time.perf_counter()
        for f in frames: fn(f)
        ts.append(len(frames) / (time.perf_counter() - t))
    return statistics.median(ts)

clf = load_classifier(a.model_dir, a.backend, a.precision)
print(f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; '
      f'torch threads {torch.get_num_threads()} (OMP_WAIT_POLICY={os.environ["OMP_WAIT_POLICY"]}), OpenCV threads {cv2.getNumThreads()}')
print(f'{len(frames)} frames 640×480 holding {sum(counts[q] for q in paths)} labelled faces ({min(counts[q] for q in paths)}-{max(counts[q] for q in paths)} each); classifier: {clf}')
for name, det in [('YuNet', YuNet()), ('YuNet + masked-face SSD', load_detector())]:
    n = np.mean([len(detect(f, det)) for f in frames])
    for what, fn in [('detection', det), ('detection + classification', lambda f: detect(f, det, clf))]:
        v = fps(fn)
        print(f'{name:24s} {what:27s} {v:6.1f} frames/s  {1000 / v:6.1f} ms/frame  {v / a.target:5.2f}× the {a.target:g} frames/s target  ({n:.1f} faces/frame)', flush=True)
print(f'load average {os.getloadavg()[0]:.1f} at the end')
