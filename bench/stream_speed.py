"""Frames per second of one 640×480 stream end to end (video decoding, the default detectors, the classifier, the tracker) with the
detector on every frame (K = 1, today's path, measured in the same run) and on one frame in K (`mask-recog-detect --detect-every K`),
the ratio of each to K = 1, and what K costs: found and found-and-correct labelled faces against K = 1.

    python bench/stream_speed.py [MODEL_DIR] [--photos 6] [--frames 40] [--ks 1,2,3,4,6] [--backend auto] [--threads N]

The stream: slow pans across photos of mask-scenes-571 with one, two and three labelled faces in equal numbers (`pan_frames`:
`--frames` frames each, 15 frames/s), written as MPEG-4 videos and read back as `mask-recog-detect` reads a video, one `Tracker`
per pan; the labelled boxes move with the pan. A labelled face is found in a frame when a reported face (detected or tracked)
overlaps it at IoU ≥ 0.3 (one to one, `match_boxes`), and correct when that face's label is its label. The frames between
detections carry their track's smoothed probability; the last line also times re-classifying their predicted crops instead
(at the K of `--reclassify`). Detector models come from $MASK_RECOG_MODELS, the scenes from $MASK_RECOG_DATA/mask-scenes-571.
One pass per K, in the order given: on a shared machine, read the load average printed at the start and the end.
"""
import os, time, argparse, platform
from pathlib import Path
import numpy as np, cv2

p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('model_dir', nargs='?', help='classifier model folder (model.onnx used with --backend auto when present, as mask-recog-detect does; default: the released model)')
p.add_argument('--photos', type=int, default=6, help='pans, one per photo (default: 6)')
p.add_argument('--frames', type=int, default=40, help='frames per pan (default: 40)')
p.add_argument('--ks', default='1,2,3,4,6', help='detector on one frame in K, for each K (default: 1,2,3,4,6; 1 is the baseline)')
p.add_argument('--reclassify', type=int, default=0, help='also time re-classifying the tracked faces at this K (0: the default K, DETECT_EVERY)')
p.add_argument('--backend', default='auto', help="classifier backend: 'auto', 'torch' or 'onnx'")
p.add_argument('--threads', type=int, default=0, help='threads for PyTorch and OpenCV (0: their defaults)')
p.add_argument('--target', type=float, default=40., help='frames/s target (default: 40)')
p.add_argument('--out', help='write the figures here as JSON (the Results page renders its table from it)')
a = p.parse_args()

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # as mask-recog-detect sets it
from mask_recog.detectors import load_detector, FrameReader
from mask_recog.preprocess import face_crops
from mask_recog.detect import load_classifier, detect, match_boxes
from mask_recog.track import Tracker, DETECT_EVERY
from _pans import scene_pans, remove, FPS
from _record import Record, table
import torch
if a.threads: torch.set_num_threads(a.threads); cv2.setNumThreads(a.threads)

rec = Record()
ks = [int(k) for k in a.ks.split(',')]
if ks[0] != 1: ks = [1] + [k for k in ks if k != 1]
rk = a.reclassify or DETECT_EVERY
tmp, pans = scene_pans(a.photos, a.frames, 'stream_speed.')
photos = [q for *_, q in pans]

det, clf = load_detector(), load_classifier(a.model_dir, a.backend)
crops_fn = getattr(clf, 'classify_crops', clf)

def run(K, reclassify=False):
    "One pass over the pans with the detector on one frame in K: frames/s, detector runs, found and found-correct counts, labelled faces"
    runs = found = correct = n = frames = 0
    t0 = time.perf_counter()
    for video, labels, moved, _ in pans:
        tk = Tracker(threshold=clf.threshold, fps=FPS)
        for _, i, t, pos, frame, _ in FrameReader(video):
            if K == 1 or tk.due(i, K):
                faces = detect(frame, det, clf); tk.update(faces, i, t, frame, pos); runs += 1
            else:
                faces = tk.predict(i, frame)
                if reclassify and faces:
                    for f, q in zip(faces, crops_fn(face_crops(frame, np.array([f['box'] for f in faces])))):
                        f['label'] = 'with_mask' if q >= clf.threshold else 'without_mask'
            frames += 1
            tf = time.perf_counter()
            m = match_boxes(np.asarray(moved[i], float), np.array([f['box'] for f in faces], float).reshape(-1, 4), 0.3)
            found += len(m); correct += sum(faces[j]['label'] == labels[k] for k, j in m.items()); n += len(labels)
            t0 += time.perf_counter() - tf  # scoring is not part of the stream's cost
        tk.finish()
    return frames / (time.perf_counter() - t0), runs / frames, found / n, correct / n, n

print(f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; '
      f'torch threads {torch.get_num_threads()}, OpenCV threads {cv2.getNumThreads()}, OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}')
print(f'{len(pans)} pans of {a.frames} frames 640×480 at {FPS:g} frames/s across {", ".join(Path(q).name for q in photos)} '
      f'({sum(len(l) for _, l, _, _ in pans)} labelled faces); classifier: {clf}')
run(1)  # warm-up: the models' first calls, the decoder
base, rows = None, []
for K, rc in [(k, False) for k in ks] + [(rk, True)]:
    v, share, f, c, n = run(K, rc)
    base = base or (v, f, c)
    print(f"K={K}{' re-classified' if rc else '':14s} {v:6.1f} frames/s  {v / base[0]:5.2f}× K=1  {v / a.target:5.2f}× the {a.target:g} frames/s target  "
          f"detector on {100 * share:5.1f}% of frames  found {100 * f:5.1f}% ({100 * (f - base[1]):+.1f})  "
          f"found and correct {100 * c:5.1f}% ({100 * (c - base[2]):+.1f} points vs K=1) of {n} labelled face-frames", flush=True)
    rows.append(dict(K=K, reclassified=rc, fps=round(v, 1), vs_k1=round(v / base[0], 2), vs_target=round(v / a.target, 2), detector_share=round(100 * share, 1),
                     found=round(100 * f, 1), found_correct=round(100 * c, 1), face_frames=n))
print(f'load average {os.getloadavg()[0]:.2f} at the end')
k1, default = rows[0], next(r for r in rows if r['K'] == DETECT_EVERY and not r['reclassified'])
cells = [[f"{r['K']}{' (every frame)' if r['K'] == 1 else ''}{', tracked faces re-classified' if r['reclassified'] else ''}" + (' (the default)' if r is default else ''),
          r['fps'], f"{r['vs_k1']:.2f}", f"{r['vs_target']:.2f}", f"{r['detector_share']}%", f"{r['found']}%", f"{r['found_correct']}% ({r['found_correct'] - k1['found_correct']:+.1f})"]
         for r in rows]
says = (f"The default, the detector on 1 frame in {DETECT_EVERY}, runs {default['fps']} frames/s: {default['vs_k1']:.2f}× every frame, "
        f"{default['vs_target']:.2f}× the {a.target:g} frames/s target ({'met' if default['vs_target'] >= 1 else 'missed'}); found and correct "
        f"{default['found_correct'] - k1['found_correct']:+.1f} points against every frame.")
rec.write(a.out, target=a.target, pans=len(pans), frames_per_pan=a.frames, photos=[Path(q).name for q in photos], classifier=repr(clf), rows=rows,
          tables=[table(f"One 640×480 stream: {len(pans)} pans of {a.frames} frames, {k1['face_frames']} labelled face-frames",
                        ['K: detector on 1 frame in K', 'frames/s', '× K = 1', f'× the {a.target:g} frames/s target', 'detector on', 'found', 'found and correct (vs K = 1)'], cells, says)])
remove(tmp)
