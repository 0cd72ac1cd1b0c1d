"""The streaming data path (step 2c: images read from a uint8 file in batches) against the in-memory path (`TensorLoader`), in
one process, and the memory of an epoch over a set built larger than a stated cap.

1. Training speed: the same model, batches and augmentation through `tensor_dls` and `disk_dls` (their files built first,
   untimed), each timed `--reps` times in turn; the best pass counts. Target: streaming ≥ 0.8× in-memory.
2. A large set: `--faces` faces made from the prepared training faces with `BatchAug` (each a new random draw), written to one
   `.npy` file by `write_npy`, then one epoch of `DiskLoader` over it (augmented, as training reads it) in a fresh process whose
   peak memory (VmHWM) must stay under `--cap-mb`, while the file is larger than the cap.

    python bench/stream_data.py [--prepared DIR] [--faces 200000] [--size 64] [--cap-mb 1500] [--out bench/results/stream_data.json]
"""
import os, sys, json, time, argparse, subprocess, tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _record import Record, table

p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--prepared', default='data/bench/face-mask-4k', help='a prepared face-mask-4k (default: the folder bench/results.sh prepares)')
p.add_argument('--arch', default='resnet18'); p.add_argument('--size', type=int, default=64); p.add_argument('--bs', type=int, default=64)
p.add_argument('--limit', type=int, default=1024, help='training images of the speed comparison')
p.add_argument('--reps', type=int, default=2, help='timed passes of each path, in turn; the best counts')
p.add_argument('--faces', type=int, default=200_000, help='faces in the large set (0: skip it)')
p.add_argument('--cap-mb', type=float, default=1500., help='the memory the epoch over the large set must stay under, MB')
p.add_argument('--work', default=None, help='folder for the large set (default: a temporary folder, removed after)')
p.add_argument('--epoch-of', help=argparse.SUPPRESS)  # internal: run one epoch over this file in this process and print JSON
p.add_argument('--out', help='write the figures here as JSON (the Results page renders its tables from it)')
a = p.parse_args()

import numpy as np, torch
from mask_recog.disk import DiskLoader, disk_dls, write_npy, npy_layout
from mask_recog.augment import BatchAug, tensor_dls, split_tensors

def vm(key:str)->float:
    "This process's memory figure `key` of /proc/self/status (VmHWM: the peak resident set), MB"
    return next(int(l.split()[1]) for l in Path('/proc/self/status').read_text().splitlines() if l.startswith(key + ':')) / 1024

if a.epoch_of:  # the child: one augmented epoch, its rate and its peak memory
    shape, _, _ = npy_layout(a.epoch_of)
    y = torch.randint(0, 2, (shape[0],))
    dl = DiskLoader(a.epoch_of, y, 256, shuffle=True, augs=BatchAug(), seed=0)
    base, t, n = vm('VmRSS'), time.perf_counter(), 0
    for xb, yb in dl: n += len(xb)
    print(json.dumps(dict(images=n, seconds=round(time.perf_counter() - t, 1), img_per_s=round(n / (time.perf_counter() - t)), peak_mb=round(vm('VmHWM')), start_mb=round(base))))
    sys.exit()

rec = Record()
prep = Path(a.prepared)
if not (prep/'manifest.csv').exists(): sys.exit(f'{prep}/manifest.csv not found: mask-recog-prepare $MASK_RECOG_DATA/face-mask-4k --out {prep}')
from fastai.callback.core import Callback
from mask_recog.model import make_learner

def timed(make):
    "Seconds of one epoch (fit_one_cycle) of a fresh learner on `make()`'s loaders, after 3 untimed batches"
    torch.manual_seed(0)
    dls = make()
    learn = make_learner(dls, a.arch, path=prep)
    with learn.no_bar(), learn.no_logging():
        with torch.no_grad():
            for _, (xb, _) in zip(range(3), dls.train): learn.model(xb)
        t = time.perf_counter(); learn.fit_one_cycle(1, 1e-3); dt = time.perf_counter() - t
    return len(dls.train) * a.bs / dt

kw = dict(size=a.size, bs=a.bs, seed=42, limit=a.limit, framing='box')
disk_dls(prep, **kw)  # its files built once, untimed
rates = {'memory': [], 'disk': []}
for _ in range(a.reps):
    rates['memory'].append(timed(lambda: tensor_dls(prep, **kw)))
    rates['disk'].append(timed(lambda: disk_dls(prep, **kw)))
    print(f"in memory {rates['memory'][-1]:.1f} img/s, from disk {rates['disk'][-1]:.1f} img/s", flush=True)
best = {k: max(v) for k, v in rates.items()}
ratio = best['disk'] / best['memory']
print(f'ratio disk / memory: {ratio:.2f} (target >= 0.8)')
tables = [table(f"Training speed: {a.arch} at {a.size} px, one epoch of {a.limit} faces, bs {a.bs}, `box` framing; best of {a.reps} passes each, in turn",
                ['data path', 'img/s', '× in memory'],
                [['in memory (`tensor_dls`, `TensorLoader`)', f"{best['memory']:.1f}", '1.00'], ['from disk (`disk_dls`, `DiskLoader`)', f"{best['disk']:.1f}", f'{ratio:.2f}']],
                f"Streaming from disk trains at {ratio:.2f}× the in-memory rate ({'meets' if ratio >= .8 else 'misses'} the 0.8× target).")]
large = None
if a.faces:
    work = Path(a.work or tempfile.mkdtemp(prefix='stream_data-'))
    work.mkdir(parents=True, exist_ok=True)
    f = work/f'faces-{a.faces}-{a.size}px.npy'
    x, _ = split_tensors(prep, 'train', a.size)
    aug = BatchAug(framing='box')
    def chunks(n=a.faces, k=1024):
        g = torch.Generator().manual_seed(0)
        for i in range(0, n, k):
            idx = torch.randint(0, len(x), (min(k, n - i),), generator=g)
            yield (aug(x[idx].float() / 255) * 255).round_().clamp_(0, 255).to(torch.uint8).numpy()
    t = time.perf_counter(); write_npy(f, (a.faces, 3, a.size, a.size), chunks()); build = time.perf_counter() - t
    size_mb = f.stat().st_size / 2**20
    print(f'{f.name}: {size_mb:,.0f} MB written in {build:.0f} s', flush=True)
    r = subprocess.run([sys.executable, __file__, '--epoch-of', str(f)], capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '2')})
    if r.returncode: sys.exit(f'the epoch over {f} failed:\n{r.stderr[-2000:]}')
    large = json.loads(r.stdout.strip().splitlines()[-1]) | dict(file_mb=round(size_mb), build_seconds=round(build), cap_mb=a.cap_mb)
    if not a.work: f.unlink(); work.rmdir()
    ok = large['peak_mb'] < a.cap_mb < size_mb
    print(f"one epoch of {large['images']:,} faces from a {size_mb:,.0f} MB file: {large['img_per_s']:,} img/s, peak memory {large['peak_mb']:,} MB (cap {a.cap_mb:,.0f} MB: {'under' if ok else 'NOT under'})")
    tables.append(table(f"One augmented epoch over {a.faces:,} faces at {a.size} px, bs 256, in its own process",
                        ['file', 'faces', 'img/s', 'peak memory (VmHWM)', 'memory at the start', 'the cap'],
                        [[f"{size_mb:,.0f} MB", f"{large['images']:,}", f"{large['img_per_s']:,}", f"{large['peak_mb']:,} MB", f"{large['start_mb']:,} MB", f"{a.cap_mb:,.0f} MB"]],
                        f"The process peaked at {large['peak_mb']:,} MB while reading a {size_mb:,.0f} MB file: {'under' if ok else 'over'} the {a.cap_mb:,.0f} MB cap."))
rec.write(a.out, arch=a.arch, size=a.size, bs=a.bs, limit=a.limit, rates={k: [round(v, 1) for v in vs] for k, vs in rates.items()}, ratio=round(ratio, 3), large=large, tables=tables)
