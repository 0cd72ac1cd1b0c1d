"""Frames per second of each of several 640×480 streams watched by one process (`mask-recog-detect A B C D`: a reading thread
per input, the faces of a round classified in one batch, a tracker per input), against today's path measured in the same run:
the same videos one after another, frame by frame through `detect` (one stream at a time; with N cameras on the box each
would get 1/N of that rate).

    python bench/streams_speed.py [MODEL_DIR] [--streams 4] [--frames 60] [--ks 1,3] [--backend auto] [--target 10]

The streams: slow pans across photos of mask-scenes-571 with one, two and three labelled faces in turn (`pan_frames`,
`--frames` frames each, 15 frames/s), written as MPEG-4 videos and read as `mask-recog-detect` reads them. Videos are read as
fast as they are processed (a camera would give at most its own rate and drop what is not taken in time), so frames/s here
is what the box can process. Detector models come from $MASK_RECOG_MODELS, the scenes from $MASK_RECOG_DATA/mask-scenes-571.
On a shared machine, read the load average printed at the start and the end.
"""
import os, time, argparse, platform
from pathlib import Path
import cv2

p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('model_dir', nargs='?', help='classifier model folder (model.onnx used with --backend auto when present, as mask-recog-detect does; default: the released model)')
p.add_argument('--streams', type=int, default=4, help='streams watched at once (default: 4)')
p.add_argument('--frames', type=int, default=60, help='frames per stream (default: 60)')
p.add_argument('--ks', default='1,3', help='detector on one frame in K of each stream, for each K (default: 1,3)')
p.add_argument('--backend', default='auto', help="classifier backend: 'auto', 'torch' or 'onnx'")
p.add_argument('--target', type=float, default=10., help='frames/s target per stream (default: 10)')
p.add_argument('--out', help='write the figures here as JSON (the Results page renders its table from it)')
a = p.parse_args()

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # as mask-recog-detect sets it
from mask_recog.detectors import load_detector, FrameReader
from mask_recog.detect import load_classifier, detect
from mask_recog.track import Tracker
from _pans import scene_pans, remove
from mask_recog.streams import StreamSet, process_streams
from _record import Record, table

rec = Record()

tmp, pans = scene_pans(a.streams, a.frames, 'streams_speed.')
videos, photos = [v for v, *_ in pans], [q for *_, q in pans]
det, clf = load_detector(), load_classifier(a.model_dir, a.backend)

def one_by_one():
    "Today's path: each video on its own, frame by frame through `detect`; frames processed and seconds"
    n, t0 = 0, time.perf_counter()
    for v in videos:
        for *_, frame, _ in FrameReader(v): detect(frame, det, clf); n += 1
    return n, time.perf_counter() - t0

def together(K):
    "All videos in one `StreamSet`, a tracker each, the detector on one frame in K; frames processed per stream, seconds, classifier calls"
    calls = []
    class Counting:
        threshold = clf.threshold
        def classify_crops(self, crops): calls.append(len(crops)); return clf.classify_crops(crops)
    ss = StreamSet(videos, names=[f'cam{k}' for k in range(len(videos))])
    trackers = {r.name: Tracker(camera=r.name, threshold=clf.threshold) for r in ss.readers}
    done, t0 = dict.fromkeys(trackers, 0), time.perf_counter()
    for r, it, faces, evs in process_streams(ss, det, Counting(), trackers, K): done[r.name] += 1
    return done, time.perf_counter() - t0, calls

print(f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; '
      f'OpenCV threads {cv2.getNumThreads()}, OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}')
print(f'{a.streams} streams of {a.frames} frames 640×480 across {", ".join(Path(q).name for q in photos)}; classifier: {clf}')
detect(next(iter(FrameReader(videos[0])))[4], det, clf)  # warm-up: the models' first calls
n, dt = one_by_one()
base = n / dt / a.streams
print(f'today, one stream at a time: {n / dt:6.1f} frames/s in all, {base:5.1f} per stream with {a.streams} on the box  (1.00×)', flush=True)
rows = [dict(how='one stream at a time, detector on every frame (the baseline)', K=1, total=round(n / dt, 1), each_min=round(base, 1), each_max=round(base, 1), vs_base=1.0, calls=None, crops=None)]
for K in [int(k) for k in a.ks.split(',')]:
    done, dt, calls = together(K)
    each = [v / dt for v in done.values()]
    assert all(v == a.frames for v in done.values()), done
    print(f'{a.streams} streams in one process, detector on 1 frame in {K}: {sum(done.values()) / dt:6.1f} frames/s in all, '
          f'{min(each):5.1f}–{max(each):5.1f} per stream  ({sum(each) / len(each) / base:4.2f}× today, {min(each) / a.target:4.2f}× the {a.target:g} frames/s target); '
          f'{len(calls)} classifier calls for {sum(calls)} crops', flush=True)
    rows.append(dict(how=f'{a.streams} streams in one process, detector on 1 frame in {K}', K=K, total=round(sum(done.values()) / dt, 1), each_min=round(min(each), 1),
                     each_max=round(max(each), 1), vs_base=round(sum(each) / len(each) / base, 2), calls=len(calls), crops=sum(calls)))
print(f'load average {os.getloadavg()[0]:.2f} at the end')
span = lambda r: str(r['each_min']) if r['each_min'] == r['each_max'] else f"{r['each_min']}–{r['each_max']}"
cells = [[r['how'], r['total'], span(r), f"{r['vs_base']:.2f}", f"{r['each_min'] / a.target:.2f}",
          '' if r['calls'] is None else f"{r['calls']} for {r['crops']} crops"] for r in rows]
best = max(rows[1:], key=lambda r: r['each_min'])
says = (f"With {a.streams} streams on the box, each gets {span(best)} frames/s with the detector on 1 frame in {best['K']}: "
        f"{best['vs_base']:.2f}× one stream at a time, {best['each_min'] / a.target:.2f}× the {a.target:g} frames/s target for each ({'met' if best['each_min'] >= a.target else 'missed'}).")
rec.write(a.out, target=a.target, streams=a.streams, frames=a.frames, photos=[Path(q).name for q in photos], classifier=repr(clf), rows=rows,
          tables=[table(f'{a.streams} streams of {a.frames} frames, 640×480, one process', ['how', 'frames/s in all', 'frames/s per stream', '× the baseline', f'× the {a.target:g} frames/s target', 'classifier calls'], cells, says)])
remove(tmp)
