"""Training throughput: the stock fastai recipe against mask_recog's data path, same split, same model, same process.

Stock: ImageDataLoaders reading the original files, `Resize(size)` item transform, `aug_transforms()`, bs 64, fp16 on CUDA.
Ours:  images decoded once into a uint8 tensor (`tensor_dls`), the same augmentations on the device (`BatchAug`), channels-last, bf16,
       fused AdamW, no host sync per batch, cuDNN autotuning (`make_learner`, `train`).
With --ablation it also times ours with fastai's own Adam, ours with fastai's batch transforms instead of `BatchAug`,
ours without augmentation (the ceiling of the data path), and ours at batch sizes 128 and 256.
Each recipe first runs 5 untimed batches (cuDNN autotuning, lazy CUDA set-up), so no variant pays for the others.

    python bench/train_speed.py                        # tiny, for a CPU: resnet18, 64 px, 1 epoch, 512 images
    python bench/train_speed.py --full                 # a GPU: resnet34, 224 px, 5 epochs, all images
    python bench/train_speed.py --prepared DIR --arch resnet34 --size 224 --epochs 5

Needs a prepared face-mask-4k (`mask-recog-prepare $MASK_RECOG_DATA/face-mask-4k --out data/prepared/face-mask-4k`);
the stock loader reads the originals from the `root` recorded in its report.json.
"""
import argparse, json, os, time, platform
from pathlib import Path
import numpy as np, pandas as pd, torch
from fastai.vision.all import (ImageDataLoaders, Resize, aug_transforms, vision_learner, accuracy, set_seed, default_device,
                               Normalize, imagenet_stats)
from mask_recog.core import CLASSES
from mask_recog.data import load_split
from mask_recog.augment import tensor_dls, mask_augs
from fastai.optimizer import Adam
from fastai.callback.training import ShortEpochCallback
from mask_recog.model import make_learner, get_arch

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--prepared', default='data/prepared/face-mask-4k')
ap.add_argument('--arch'); ap.add_argument('--size', type=int); ap.add_argument('--epochs', type=int)
ap.add_argument('--limit', type=int); ap.add_argument('--bs', type=int, default=64); ap.add_argument('--lr', type=float, default=2e-3)
ap.add_argument('--full', action='store_true', help='GPU sizes: resnet34, 224 px, 5 epochs, every image')
ap.add_argument('--out', help='write the figures here as JSON (the Results page renders its table from it)')
ap.add_argument('--ablation', action='store_true', help='also time variants of ours (see above)')
a = ap.parse_args()
import sys; sys.path.insert(0, str(Path(__file__).parent))
from _record import Record, table
rec = Record()
full = dict(arch='resnet34', size=224, epochs=5, limit=None) if a.full else dict(arch='resnet18', size=64, epochs=1, limit=512)
for k, v in full.items():
    if getattr(a, k) is None: setattr(a, k, v)
prep = Path(a.prepared).resolve()  # absolute: the stock loader joins cache paths to '/'
if not (prep/'manifest.csv').exists(): raise SystemExit(f'{prep}/manifest.csv not found: run mask-recog-prepare first')
dev = default_device()
cuda = dev.type == 'cuda'
root = Path(json.loads((prep/'report.json').read_text())['params']['root'])
# The stock recipe reads the original files; where they are not on this machine (a GPU box the data was carried to),
# it reads the prepared cache's JPEGs instead: smaller files, so a faster baseline and a smaller ratio for ours.
stock_files = 'originals' if root.is_dir() else 'cache'
if stock_files == 'cache': print(f'{root} is not here: the stock recipe reads the cached JPEGs of {prep} instead of the originals')
name = torch.cuda.get_device_name(dev) if cuda else f'{platform.processor() or "cpu"} ({os.cpu_count()} cores)'
print(f'device: {name}; {a.arch} at {a.size} px, {a.epochs} epoch(s), bs {a.bs}, limit {a.limit}')

def rows():
    df = pd.concat([load_split(prep, 'train').assign(is_valid=False), load_split(prep, 'valid').assign(is_valid=True)])
    if a.limit:
        tr, va = df[~df.is_valid].sample(min(a.limit, (~df.is_valid).sum()), random_state=0), df[df.is_valid]
        df = pd.concat([tr, va.sample(min(len(va), max(1, a.limit // 3)), random_state=0)])
    return df

def timed_fit(learn, n_train):
    warm = ShortEpochCallback(pct=min(1., 5 / len(learn.dls.train)))  # about 5 batches, no validation
    with learn.no_bar(), learn.no_logging(): learn.fit(1, a.lr, cbs=warm)  # warm-up, untimed (the weights move a little)
    if cuda: torch.cuda.synchronize()
    t = time.perf_counter(); learn.fit_one_cycle(a.epochs, a.lr)
    if cuda: torch.cuda.synchronize()
    wall = time.perf_counter() - t
    acc = float(learn.validate()[1])
    return wall, n_train * a.epochs / wall, acc

results = {}
df = rows()
set_seed(42)
stock_dls = ImageDataLoaders.from_df(df, root if stock_files == 'originals' else '/', fn_col='path' if stock_files == 'originals' else 'file', label_col='label', valid_col='is_valid', item_tfms=Resize(a.size),
                                     batch_tfms=[*aug_transforms(), Normalize.from_stats(*imagenet_stats)], bs=a.bs, device=dev)
learn = vision_learner(stock_dls, get_arch(a.arch), pretrained=False, metrics=accuracy)
if cuda: learn = learn.to_fp16()
n_train = len(stock_dls.train) * a.bs
results['stock fastai'] = timed_fit(learn, n_train)

def ours(bs, augs=None, **kw):
    set_seed(42)
    if cuda: torch.backends.cudnn.benchmark = True  # part of our recipe (`train` sets it)
    dls = tensor_dls(prep, a.size, bs, augs=augs, device=dev, seed=42, channels_last=cuda, limit=a.limit)
    learn = make_learner(dls, a.arch, path=prep, **kw)
    return timed_fit(learn, len(dls.train) * bs)

results['mask_recog'] = ours(a.bs)
if a.ablation:
    results['ours, fastai Adam'] = ours(a.bs, opt_func=Adam)
    results['ours, fastai aug_transforms'] = ours(a.bs, augs=mask_augs())
    results['ours, no augmentation'] = ours(a.bs, augs=[])
    results['ours, bs 128'] = ours(128)
    results['ours, bs 256'] = ours(256)
for k, (wall, ips, acc) in results.items(): print(f'{k:28s} {ips:9.1f} img/s  {wall:8.1f} s  valid accuracy {acc:.4f}')
print(f"ratio mask_recog / stock: {results['mask_recog'][1] / results['stock fastai'][1]:.2f}x img/s")
stock = results['stock fastai'][1]
label = {'stock fastai': "stock fastai (`ImageDataLoaders`, `Resize`, `aug_transforms`" + (', fp16' if cuda else '') + ")", 'mask_recog': f'ours (the default recipe), bs {a.bs}'}
rec.write(a.out, device=name, arch=a.arch, size=a.size, epochs=a.epochs, bs=a.bs, limit=a.limit, stock_files=stock_files,
          results={k: {'wall_s': round(w, 2), 'img_per_s': round(i, 1), 'valid_accuracy': round(c, 4)} for k, (w, i, c) in results.items()},
          tables=[table(f"{a.arch} at {a.size} px, {a.epochs} epoch(s){f', {a.limit} training images' if a.limit else ''}, bs {a.bs}, on {'the GPU' if cuda else 'the CPU'}",
                        ['recipe', 'img/s', '× stock', 'seconds'], [[label.get(k, k), f'{i:,.0f}', f'{i / stock:.2f}', f'{w:.1f}'] for k, (w, i, c) in results.items()],
                        f"Ours trains {results['mask_recog'][1] / stock:.2f}× as many images a second as the stock fastai recipe, in the same process.")])
