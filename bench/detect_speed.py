"""Frames per second of face detection alone and of detection + classification on 640×480 frames with one to three faces,
and the ratio to the 25 frames/s target. Frames are photos of mask-scenes-571 holding one, two and three labelled faces in equal numbers, letterboxed to 640×480.

    python bench/detect_speed.py [--model DIR] [--classifiers released,onnx,bf16,fp32] [--frames 60] [--rounds 3] [--threads N] [--out bench/results/detect_speed.json]

The classifiers: `released` is the model in the package (int8 ONNX, what `mask-recog-detect` uses when no model is named);
`onnx`, `bf16` and `fp32` are DIR through ONNX Runtime, PyTorch bf16 and PyTorch fp32 (without --model: an untrained resnet18
at 96 px, the released model's architecture and size, exported to ONNX here: speed does not depend on the weights).
Detector models come from $MASK_RECOG_MODELS, the scenes from $MASK_RECOG_DATA/mask-scenes-571. Each figure is the median of
`--rounds` passes over the frames, after one warm-up pass. The load average is printed: on a shared machine other work slows it.
With `--out`, the figures go to a JSON file with the command, the machine and the date: the Results page renders its table from it.
"""
import os, sys, json, time, argparse, datetime, tempfile, statistics, platform
from pathlib import Path
import numpy as np, cv2

p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--model', help='classifier model folder with model.safetensors and model.onnx (default: an untrained resnet18 at 96 px, exported here)')
p.add_argument('--classifiers', default='released,onnx,bf16,fp32', help='comma-separated: released, onnx, bf16, fp32')
p.add_argument('--frames', type=int, default=60, help='frames per pass')
p.add_argument('--rounds', type=int, default=3, help='timed passes; the median is reported')
p.add_argument('--threads', type=int, default=0, help='threads for PyTorch and OpenCV (0: their defaults)')
p.add_argument('--target', type=float, default=25., help='frames/s target')
p.add_argument('--out', help='write the figures here as JSON')
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

KINDS = {'released': ('the released model (ONNX Runtime, int8)', None, 'auto', 'auto'), 'onnx': ('ONNX Runtime, fp32 (`mask-recog-export`)', 'dir', 'onnx', 'auto'),
         'bf16': ('PyTorch, bf16', 'dir', 'torch', 'bf16'), 'fp32': ('PyTorch, fp32', 'dir', 'torch', 'fp32')}
kinds = a.classifiers.split(',')
if bad := [k for k in kinds if k not in KINDS]: sys.exit(f'--classifiers: unknown {bad}; choose from {list(KINDS)}')
model = a.model
if model is None and any(KINDS[k][1] for k in kinds):
    from mask_recog.model import build_model, save_model
    from mask_recog.inference import export_onnx
    model = Path(tempfile.mkdtemp())/'resnet18-96'
    import atexit, shutil; atexit.register(shutil.rmtree, model.parent, True)  # removed at exit
    save_model(build_model('resnet18').eval(), {'arch': 'resnet18', 'size': 96}, model); export_onnx(model)
from _record import cpu_name
cpu = cpu_name()
load0 = os.getloadavg()[0]
print(f'{cpu}, {os.cpu_count()} cores, load average {load0:.1f} at start; '
      f'torch threads {torch.get_num_threads()} (OMP_WAIT_POLICY={os.environ["OMP_WAIT_POLICY"]}), OpenCV threads {cv2.getNumThreads()}')
print(f'{len(frames)} frames 640×480 holding {sum(counts[q] for q in paths)} labelled faces ({min(counts[q] for q in paths)}-{max(counts[q] for q in paths)} each)')
dets = [('YuNet', YuNet()), ('YuNet + masked-face SSD (default)', load_detector())]
faces = {name: round(float(np.mean([len(detect(f, det)) for f in frames])), 2) for name, det in dets}
rows, alone = [], {name: fps(det) for name, det in dets}  # detection alone: the same for every classifier
for k in kinds:
    label, uses_dir, backend, precision = KINDS[k]
    clf = load_classifier(model if uses_dir else None, backend, precision)
    print(f'classifier: {clf}')
    for name, det in dets:
        v = fps(lambda f: detect(f, det, clf))
        rows.append(dict(classifier=label, kind=k, detector=name, detection=round(alone[name], 1), both=round(v, 1), faces_per_frame=faces[name]))
        for what, x in (('detection', alone[name]), ('detection + classification', v)):
            print(f'{k:8s} {name:34s} {what:27s} {x:6.1f} frames/s  {1000 / x:6.1f} ms/frame  {x / a.target:5.2f}× the {a.target:g} frames/s target  ({faces[name]:.1f} faces/frame)', flush=True)
load1 = os.getloadavg()[0]
print(f'load average {load1:.1f} at the end')
if a.out:
    res = dict(target=a.target, frames=len(frames), faces=sum(counts[q] for q in paths), rounds=a.rounds, rows=rows,
               command=' '.join(['python bench/detect_speed.py'] + sys.argv[1:]), model=a.model or 'an untrained resnet18 at 96 px, exported to ONNX',
               machine=dict(cpu=cpu, cores=os.cpu_count(), python=platform.python_version(), torch=torch.__version__, load_average=[round(load0, 2), round(load1, 2)]),
               date=datetime.date.today().isoformat())
    from mask_recog.core import save_json
    save_json(res, a.out); print(f'wrote {a.out}')
