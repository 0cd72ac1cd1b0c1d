"""Inference speed: fastai's `learn.predict`, one image at a time, against `Classifier` (batched; PyTorch fp32 and, on CPUs that run it natively, bf16; ONNX Runtime fp32
and int8), on the same real images, in one process, passes interleaved. Prints faces/s and every ratio ours / learn.predict of this run.

    python bench/infer_speed.py                          # untrained resnet34 at 224 px (speed does not depend on the weights)
    python bench/infer_speed.py --arch resnet18 --size 96
    python bench/infer_speed.py --model-dir data/models/dev-resnet18-96   # a trained model (copied; its folder is not touched)

Two workloads: `files` (paths in, decoding included: `learn.predict(path)` vs `Classifier.predict(paths)`) and `crops`
(decoded RGB arrays, longest side shrunk to 256 px like a face crop from a video frame, as the face detector hands them
over: `learn.predict(array)` vs `Classifier.classify_crops(arrays)`).
Needs MASK_RECOG_DATA (face-mask-4k) or --images.
"""
import argparse, os, shutil, sys, tempfile, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')
import numpy as np, torch
from mask_recog.core import CLASSES
from mask_recog.images import load_rgb, IMG_EXTS
from mask_recog.model import build_model, save_model, load_model
from mask_recog.inference import Classifier, export_onnx, quantize_onnx, native_bf16

p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--arch', default='resnet34', help='architecture of the untrained model (default: resnet34)')
p.add_argument('--size', type=int, default=224, help='input size of the untrained model (default: 224)')
p.add_argument('--model-dir', help='benchmark this trained model folder instead (its arch and size)')
p.add_argument('--images', help='folder with with_mask/ and without_mask/ (default: $MASK_RECOG_DATA/face-mask-4k)')
p.add_argument('--n', type=int, default=32, help='images per workload (default: 32)')
p.add_argument('--reps', type=int, default=3, help='timed passes per method, interleaved; the best is reported (default: 3)')
p.add_argument('--bs', type=int, default=64, help='batch size of ours (default: 64)')
p.add_argument('--no-int8', action='store_true', help='skip the int8 ONNX model')
p.add_argument('--out', help='write the figures here as JSON (the Results page renders its table from it)')
a = p.parse_args()
sys.path.insert(0, str(Path(__file__).parent))
from _record import Record, table
rec = Record()

src = Path(a.images) if a.images else Path(os.environ.get('MASK_RECOG_DATA', ''))/'face-mask-4k'
if not (src/'with_mask').is_dir(): sys.exit(f'{src}/with_mask not found: set MASK_RECOG_DATA or pass --images')
per = {c: sorted(f for f in (src/c).iterdir() if f.suffix.lower() in IMG_EXTS) for c in CLASSES}
pick = lambda off: [str(per[c][i * 7 + off]) for i in range(a.n // 2) for c in CLASSES]  # the same real images for everyone
files, calib = pick(0), pick(3)
def _crop(f):
    im = load_rgb(f)[0]; im.thumbnail((256, 256)); return np.asarray(im)
arrays = [_crop(f) for f in files]

tmp = Path(tempfile.mkdtemp())
try:
    mdir = tmp/'model'
    if a.model_dir:
        mdir.mkdir()
        for f in ['model.json', 'model.safetensors']: shutil.copy(Path(a.model_dir)/f, mdir/f)
    else: save_model(build_model(a.arch).eval(), {'arch': a.arch, 'size': a.size, 'note': 'untrained, for speed'}, mdir)
    export_onnx(mdir)
    if not a.no_int8: quantize_onnx(mdir, calib)
    model, meta = load_model(mdir)

    # the baseline: a fastai Learner around the same model, with the usual DataBlock pipeline
    from fastai.vision.all import DataBlock, ImageBlock, CategoryBlock, Resize, ResizeMethod, Normalize, Learner, parent_label
    dblock = DataBlock(blocks=(ImageBlock, CategoryBlock(vocab=list(CLASSES))), get_y=parent_label,
                       item_tfms=Resize(meta['size'], method=ResizeMethod.Squish),
                       batch_tfms=Normalize.from_stats(meta['mean'], meta['std']))
    learn = Learner(dblock.dataloaders(calib[:8], bs=4, num_workers=0), model)

    def baseline(items):
        with learn.no_bar(), learn.no_logging():
            for o in items: learn.predict(o)

    ours = {'torch': Classifier(mdir, bs=a.bs)}
    if native_bf16(): ours['torch bf16'] = Classifier(mdir, bs=a.bs, precision='bf16')  # CPUs with AMX / AVX-512 BF16
    ours['onnx'] = Classifier(mdir, 'onnx', bs=a.bs)
    if not a.no_int8: ours['onnx int8'] = Classifier(mdir, 'onnx', int8=True, bs=a.bs)
    print(f"model: {a.model_dir or 'untrained ' + a.arch}, {meta['arch']} at {meta['size']} px; {len(files)} real images from {src}")
    print(f"cpu cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}; batch size (ours): {a.bs}; "
          f"native bf16: {native_bf16()} (AMX {getattr(torch.cpu, '_is_amx_tile_supported', lambda: None)()})")
    print(f"{a.reps} interleaved passes per method; faces/s of the best pass (the least disturbed: this machine is shared), median pass in brackets\n")
    print(f"{'workload':8s} {'method':38s} {'faces/s':>16s} {'ours / learn.predict':>21s}")
    best = {}
    for wl, items in [('files', files), ('crops', arrays)]:
        name = 'Classifier.predict' if wl == 'files' else 'Classifier.classify_crops'
        fns = {'fastai learn.predict, one by one': baseline}
        fns.update({f'{name}, {k}': (c.predict if wl == 'files' else c.classify_crops) for k, c in ours.items()})
        for f in fns.values(): f(items[:2])  # warm-up
        ts = {k: [] for k in fns}
        for _ in range(a.reps):
            for k, f in fns.items():
                t = time.perf_counter(); f(items); ts[k].append(time.perf_counter() - t)
        rates = {k: (len(items) / min(v), len(items) / float(np.median(v))) for k, v in ts.items()}
        b = rates['fastai learn.predict, one by one'][0]
        for k, (r, med) in rates.items():
            best[(wl, k)] = (r, r / b)
            print(f"{wl:8s} {k:38s} {r:7.1f} ({med:6.1f}) {r / b:20.1f}x", flush=True)
    (wl, k), (r, x) = max(((k, v) for k, v in best.items() if 'learn.predict' not in k[1]), key=lambda kv: kv[1][0])
    print(f"\nfastest: {wl}, {k}: {r:.0f} faces/s, {x:.1f}x learn.predict (load average now {os.getloadavg()[0]:.1f}). "
          f"Targets: >= 150 faces/s {'met' if r >= 150 else 'NOT met'}; >= 5x {'met' if x >= 5 else 'NOT met'}")
    methods = list(dict.fromkeys(k.split(', ', 1)[-1] if 'learn.predict' not in k else k for _, k in best))
    pick = lambda wl, m: next(v for (w, k), v in best.items() if w == wl and (k == m or k.endswith(', ' + m)))
    nice = lambda m: {'torch': 'PyTorch fp32', 'torch bf16': 'PyTorch bf16', 'onnx': 'ONNX Runtime fp32', 'onnx int8': 'ONNX Runtime int8'}.get(m, m)
    cells = [[nice(m)]
             + [f"{pick(wl, m)[0]:.0f} ({pick(wl, m)[1]:.1f}×)" for wl in ('files', 'crops')] for m in methods]
    rec.write(a.out, model=a.model_dir or f'untrained {a.arch}', arch=meta['arch'], size=meta['size'], images=len(files), bs=a.bs, reps=a.reps,
              rates={f'{wl} | {k}': dict(faces_per_s=round(r, 1), vs_learn_predict=round(x, 2)) for (wl, k), (r, x) in best.items()},
              tables=[table(f"{meta['arch']} at {meta['size']} px: faces/s (× fastai's `learn.predict`), {len(files)} real images, best of {a.reps} interleaved passes",
                            ['method', 'files (decoding included)', 'crops (decoded, ≤ 256 px)'], cells,
                            f"Fastest: {nice(k.split(', ', 1)[-1])} on {wl}, {r:.0f} faces/s, {x:.1f}× `learn.predict`.")])
finally: shutil.rmtree(tmp, ignore_errors=True)
