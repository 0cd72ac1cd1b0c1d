"""Every GPU figure of the training and deployment issues in one run (started by bench/gpu_session.sh on the device):

1. `bench/train_speed.py --full`: the stock fastai recipe against ours, img/s and the ratio (resnet34, 224 px).
2. The default recipe from scratch: resnet34, 224 px, 40 epochs, lr from lr_find; training seconds and valid accuracy.
3. That model on the leak-free test split of face-mask-4k and on all of mask-scenes-571's face crops.
4. Batched inference at 224 px: faces/s of `Classifier.classify_crops` (decoded crops in) and of the model alone on
   device batches, fp32 and bf16.

Writes summary.json (and the step outputs) to $OUT. `--tiny` runs the same plumbing small, on a CPU.
"""
import argparse, json, os, subprocess, sys, time, shutil, warnings
from pathlib import Path
warnings.filterwarnings('ignore')
import numpy as np, torch

ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
ap.add_argument('--carry', default='carry/prepared', help='folder holding the prepared face-mask-4k and mask-scenes-571')
ap.add_argument('--tiny', action='store_true', help='CPU plumbing check: resnet18, 64 px, 1 epoch, 256 images')
ap.add_argument('--epochs', type=int, default=40); ap.add_argument('--arch', default='resnet34'); ap.add_argument('--size', type=int, default=224)
ap.add_argument('--skip-speed', action='store_true', help='skip step 1')
a = ap.parse_args()
out = Path(os.environ.get('OUT', 'gpu_out')); out.mkdir(parents=True, exist_ok=True)
prep, scenes = Path(a.carry)/'face-mask-4k', Path(a.carry)/'mask-scenes-571'
cuda = torch.cuda.is_available() and not a.tiny
dev = 'cuda' if cuda else 'cpu'
arch, size, epochs, limit = ('resnet18', 64, 1, 256) if a.tiny else (a.arch, a.size, a.epochs, None)
summary = {'device': torch.cuda.get_device_name() if cuda else 'cpu', 'torch': torch.__version__, 'arch': arch, 'size': size, 'epochs': epochs}
def save(): (out/'summary.json').write_text(json.dumps(summary, indent=1)); print(json.dumps(summary), flush=True)
print(f"device: {summary['device']}; {arch} at {size} px, {epochs} epochs", flush=True)

# 1. training speed, stock vs ours (a separate process: its memory is freed before the long run)
if not a.skip_speed:
    cmd = [sys.executable, 'bench/train_speed.py', '--prepared', str(prep), '--json', str(out/'train_speed.json')] + ([] if a.tiny else ['--full'])
    r = subprocess.run(cmd, capture_output=True, text=True)
    (out/'train_speed.txt').write_text(r.stdout + r.stderr[-4000:])
    summary['train_speed'] = json.loads((out/'train_speed.json').read_text()) if r.returncode == 0 else f'failed: {r.stderr[-500:]}'
    save()

# 2. the recipe from scratch
from mask_recog.train import train
from mask_recog.evaluate import evaluate
from mask_recog.inference import Classifier
from mask_recog.data import load_split, load_rgb
model = Path('/tmp/gpu_session_model') if not a.tiny else out/'model'
shutil.rmtree(model, ignore_errors=True)
t = time.perf_counter()
tr = train(prep, model, arch, size, epochs, 'auto', pretrained=False, device=dev, limit=limit)
m = tr['meta']
summary['train'] = {'wall_s': round(time.perf_counter() - t, 1), 'train_seconds': m['train_seconds'], 'train_img_per_s': m['train_img_per_s'],
                    'lr': m['lr'], 'threshold': m['threshold'], 'valid_at_0.5': tr['valid']['at_0.5']['accuracy'],
                    'valid_at_threshold': tr['valid']['at_threshold']['accuracy']}
for f in ['history.csv', 'metrics.json', 'model.json', 'lr_find.png']:
    if (model/f).exists(): shutil.copy(model/f, out/f)
save()

# 3. held-out figures
for name, data, split in [('test', prep, 'test'), ('mask-scenes-571', scenes, 'all')]:
    r = evaluate(model, data, out/'eval'/name, device=dev, split=split)
    summary[name] = {k: r[k] for k in ['n', 'accuracy', 'balanced_accuracy', 'roc_auc', 'threshold']} | {'at_0.5': {k: r['at_05'][k] for k in ['accuracy', 'balanced_accuracy']}}
save()

# 4. inference at the model's size: decoded crops in (preprocessing included), and the model alone on device batches
files = load_split(prep, 'test').file.tolist()
crops = [np.asarray(load_rgb(f)[0]) for f in files]
crops = (crops * (1 + 2048 // len(crops)))[:2048 if not a.tiny else 128]
inf = {}
for prec in ['fp32', 'bf16']:
    clf = Classifier(model, device=dev, bs=256, precision=prec)
    clf.classify_crops(crops[:256])
    if cuda: torch.cuda.synchronize()
    t = time.perf_counter(); clf.classify_crops(crops)
    if cuda: torch.cuda.synchronize()
    inf[f'classify_crops {prec} faces/s'] = round(len(crops) / (time.perf_counter() - t), 1)
    net = clf.model
    x = torch.randn(256, 3, size, size, device=dev).to(memory_format=torch.channels_last)
    with torch.inference_mode(), torch.autocast(torch.device(dev).type, torch.bfloat16, enabled=prec == 'bf16'):
        for _ in range(3): net(x)
        if cuda: torch.cuda.synchronize()
        n = 20 if cuda else 2; t = time.perf_counter()
        for _ in range(n): net(x)
        if cuda: torch.cuda.synchronize()
    inf[f'model alone {prec} faces/s'] = round(256 * n / (time.perf_counter() - t), 1)
summary['inference'] = inf
save()
