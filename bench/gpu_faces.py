"""Faces/s end to end from decoded frames on a CUDA device: today's path (`classify_crops(face_crops(...))`: crops cut, resized and
normalized on the host) against `Classifier.classify_boxes` (frames sent to the GPU once, faces cut and resized there), in bf16.
Prints the card, faces/s of each path, their ratio and the largest probability difference between them.

    python bench/gpu_faces.py MODEL_DIR                       # scene photos of $MASK_RECOG_DATA/mask-scenes-571 (else the sample composites)
    python bench/gpu_faces.py MODEL_DIR --frames 512 --per-call 64 --bs 256

Frames are the scene photos resized to 640×480 (a camera's frames), with their labelled faces as the detector's boxes.
Without CUDA it says so and times both paths on the CPU with a few frames (a smoke run), then exits 0.
"""
import argparse, sys, time, warnings
warnings.filterwarnings('ignore')
import numpy as np, cv2, torch
from mask_recog.data import get_scenes, scan_yolo
from mask_recog.preprocess import face_crops
from mask_recog.inference import Classifier

p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('model_dir', help='model folder (model.json + model.safetensors)')
p.add_argument('--scenes', help='a YOLO scene set (default: get_scenes(): $MASK_RECOG_DATA/mask-scenes-571, else the sample composites)')
p.add_argument('--frames', type=int, default=512, help='frames timed per pass (default: 512; 8 without CUDA)')
p.add_argument('--per-call', type=int, default=64, help='frames per call, as a batch of streams hands them over (default: 64)')
p.add_argument('--bs', type=int, default=256, help="the classifier's batch size (default: 256)")
p.add_argument('--reps', type=int, default=3, help='timed passes per path, interleaved; the best is reported (default: 3)')
p.add_argument('--precision', default='bf16', help='bf16 (default), fp32, fp16 or auto')
a = p.parse_args()

cuda = torch.cuda.is_available()
if not cuda:
    print('no CUDA device here: timing both paths on the CPU with a few frames (a smoke run); the GPU target stays unmeasured')
    a.frames, a.reps = min(a.frames, 8), 1
dev = 'cuda' if cuda else 'cpu'
clf = Classifier(a.model_dir, device=dev, bs=a.bs, precision=a.precision if cuda or a.precision != 'fp16' else 'fp32')
print(f"device: {torch.cuda.get_device_name(0) if cuda else 'CPU'}; {clf}")

root = get_scenes(a.scenes, quick=True)  # no download: mask-scenes-571 where it is, else the composites
items = scan_yolo(root)[0]
paths = sorted({o['path'] for o in items})
W, H = 640, 480
frames, boxes = [], []
for path in paths:
    if len(frames) >= a.frames: break
    im = cv2.imread(str(root/path))
    if im is None: continue
    frames.append(cv2.resize(im, (W, H), interpolation=cv2.INTER_AREA))
    boxes.append(np.array([[(cx - w / 2) * W, (cy - h / 2) * H, w * W, h * H] for cx, cy, w, h in (o['box'][1:] for o in items if o['path'] == path)]).reshape(-1, 4))
while len(frames) < a.frames: frames, boxes = frames + frames[:a.frames - len(frames)], boxes + boxes[:a.frames - len(boxes)]
n_faces = sum(len(b) for b in boxes)
calls = [(frames[i:i + a.per_call], boxes[i:i + a.per_call]) for i in range(0, len(frames), a.per_call)]

def host(): return np.concatenate([clf.classify_crops([c for f, b in zip(fs, bs) for c in face_crops(f, b)]) for fs, bs in calls])
def device(): return np.concatenate([clf.classify_boxes(fs, bs, on_device=True) for fs, bs in calls])
def timed(fn):
    if cuda: torch.cuda.synchronize()
    t = time.perf_counter(); out = fn()
    if cuda: torch.cuda.synchronize()
    return time.perf_counter() - t, out
timed(host); timed(device)  # warm-up: cuDNN's choice of kernels, the allocator
best = {'host': np.inf, 'device': np.inf}
for _ in range(a.reps):
    for name, fn in (('host', host), ('device', device)):
        t, out = timed(fn); best[name] = min(best[name], t); res = {**locals().get('res', {}), name: out}
fps = {k: n_faces / v for k, v in best.items()}
print(f'{len(frames)} frames of {W}×{H}, {n_faces} faces, {a.per_call} frames per call, bs {a.bs}, {clf.dtype or "fp32"}')
print(f"today's path (host crops): {fps['host']:,.0f} faces/s")
print(f"classify_boxes (on the device): {fps['device']:,.0f} faces/s")
print(f"ratio device / host: {fps['device'] / fps['host']:.2f}x; max |Δprob| between them {np.abs(res['device'] - res['host']).max():.4f}")
if cuda: print(f"target ≥ 10,000 faces/s: {'met' if fps['device'] >= 10_000 else 'NOT met'}")
