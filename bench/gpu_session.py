"""Every GPU figure of the training and deployment issues in one run (started by bench/gpu_session.sh on the device):

1. `bench/train_speed.py --full --ablation`: the stock fastai recipe against ours, img/s and the ratio (resnet34, 224 px),
   and the ceiling: a plain PyTorch training step (bf16, channels-last, fused AdamW) on device batches, no data, no fastai.
2. The default recipe from scratch: resnet34, 224 px, 40 epochs, lr from lr_find; training seconds and valid accuracy
   (seed 42), then fixed learning rates and seed 1 while time allows: how much the figures move with each.
3. That model on the leak-free test split of face-mask-4k and on all of mask-scenes-571's face crops.
4. Batched inference at 224 px: faces/s of `Classifier.classify_crops` (decoded crops in) and of the model alone on
   device batches, fp32 and bf16.
5. While the session is under 300 s: the recipe at fixed learning rates (2e-3, 4e-3, 8e-3) and with seed 1.

Each step is guarded: a failure is recorded under `errors` and the next step runs. Writes summary.json, session.log,
train_speed.txt, history.csv, lr_find.png and confusion_test.png to $OUT (the device tool returns at most 8 files) and
everything else to $GPU_WORK. `--quick` runs steps 2 and 3 only; `--tiny` runs the same plumbing small, on a CPU.
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
ap.add_argument('--quick', action='store_true', help='steps 2 and 3 only: train the default recipe and evaluate it')
a = ap.parse_args()
out = Path(os.environ.get('OUT', 'gpu_out')); out.mkdir(parents=True, exist_ok=True)
# the device tool returns at most 8 files from $OUT: the few worth reading go there, the rest to a work folder
work = Path(os.environ.get('GPU_WORK', '/tmp/gpu_session')); shutil.rmtree(work, ignore_errors=True); work.mkdir(parents=True)
prep, scenes = Path(a.carry)/'face-mask-4k', Path(a.carry)/'mask-scenes-571'
cuda = torch.cuda.is_available() and not a.tiny
dev = 'cuda' if cuda else 'cpu'
arch, size, epochs, limit = ('resnet18', 64, 1, 256) if a.tiny else (a.arch, a.size, a.epochs, None)
summary = {'device': torch.cuda.get_device_name() if cuda else 'cpu', 'torch': torch.__version__, 'arch': arch, 'size': size, 'epochs': epochs}
t0_session = time.perf_counter()
SCORES = ['n', 'accuracy', 'balanced_accuracy', 'roc_auc']
def scores(r, keys=SCORES): return {k: r[k] for k in keys}
def save(): (out/'summary.json').write_text(json.dumps(summary, indent=1)); print(json.dumps(summary), flush=True)
print(f"device: {summary['device']}; {arch} at {size} px, {epochs} epochs", flush=True)
from contextlib import contextmanager
import traceback
@contextmanager
def step(name):
    "Run one step; a failure is recorded in the summary and the session goes on to the next"
    t = time.perf_counter()
    try: yield
    except Exception: summary.setdefault('errors', {})[name] = traceback.format_exc()[-1500:]; traceback.print_exc()
    summary.setdefault('step_seconds', {})[name] = round(time.perf_counter() - t, 1); save()

# 1. training speed, stock vs ours (a separate process: its memory is freed before the long run)
if not a.skip_speed and not a.quick:
    cmd = [sys.executable, 'bench/train_speed.py', '--prepared', str(prep), '--json', str(work/'train_speed.json'), '--ablation'] + ([] if a.tiny else ['--full'])
    try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as e: r = subprocess.CompletedProcess(cmd, 124, (e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or ''), 'timed out after 240 s')
    (out/'train_speed.txt').write_text(r.stdout[-3000:] + r.stderr[-4000:])
    summary['train_speed'] = json.loads((work/'train_speed.json').read_text()) if r.returncode == 0 else f'failed: {r.stderr[-500:]}'
    save()

# 1b. the ceiling: plain PyTorch training steps of the same model on random device batches
if not a.quick:
  with step('plain_pytorch'):
    from mask_recog.model import build_model
    def plain_steps(bs, n):
        net = build_model(arch, 2).to(dev).to(memory_format=torch.channels_last).train()
        opt = torch.optim.AdamW(net.parameters(), 1e-3, fused=cuda or None)
        x = torch.randn(bs, 3, size, size, device=dev).to(memory_format=torch.channels_last); y = torch.randint(0, 2, (bs,), device=dev)
        def step():
            with torch.autocast(torch.device(dev).type, torch.bfloat16): loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        for _ in range(5): step()
        if cuda: torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(n): step()
        if cuda: torch.cuda.synchronize()
        return round(bs * n / (time.perf_counter() - t), 1)
    torch.backends.cudnn.benchmark = cuda
    summary['plain_pytorch_train_img_per_s'] = {f'bs {b}': plain_steps(b, 60 if cuda else 2) for b in ([64, 128] if cuda else [16])}
    save()

# 2. the recipe from scratch
from mask_recog.train import train
from mask_recog.evaluate import evaluate
from mask_recog.inference import Classifier
from mask_recog.data import load_split, load_rgb
model = work/'model'
shutil.rmtree(model, ignore_errors=True)
def run(seed, model, lr='auto'):
    shutil.rmtree(model, ignore_errors=True)
    t = time.perf_counter()
    tr = train(prep, model, arch, size, epochs, lr, pretrained=False, device=dev, limit=limit, seed=seed)
    m = tr['meta']
    return {'seed': seed, 'wall_s': round(time.perf_counter() - t, 1), 'train_seconds': m['train_seconds'], 'train_img_per_s': m['train_img_per_s'],
            'lr': m['lr'], 'threshold': m['threshold'], 'best_epoch': m['best_epoch'], 'optimizer': m['optimizer'],
            'valid_at_0.5': tr['valid']['at_0.5']['accuracy'], 'valid_at_threshold': tr['valid']['at_threshold']['accuracy']}
with step('train'):
    summary['train'] = run(42, model)
    for f in ['history.csv', 'lr_find.png']:
        if (model/f).exists(): shutil.copy(model/f, out/f)

# 3. held-out figures
with step('evaluate'):
    for name, data, split in [('test', prep, 'test'), ('mask-scenes-571', scenes, 'all')]:
        r = evaluate(model, data, work/'eval'/name, device=dev, split=split)
        summary[name] = scores(r, SCORES + ['threshold', 'recall', 'confusion']) | {'at_0.5': scores(r['at_05'], ['accuracy', 'balanced_accuracy'])}
    if (work/'eval'/'test'/'confusion.png').exists(): shutil.copy(work/'eval'/'test'/'confusion.png', out/'confusion_test.png')
    save()

# 4. inference at the model's size: decoded crops in (preprocessing included), and the model alone on device batches
if not a.quick:
  with step('inference'):
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

# 5. fixed learning rates instead of lr_find's valley, then another seed, while the session has time
for lr in ([] if a.quick else [2e-3, 4e-3, 8e-3] if not a.tiny else [2e-3]):
    if time.perf_counter() - t0_session > 300: break
    with step(f'lr {lr:g}'):
        mk = work/f'model_lr{lr:g}'
        res = run(42, mk, lr)
        r = evaluate(mk, prep, work/'eval'/f'test_lr{lr:g}', device=dev, split='test')
        res['test'] = scores(r)
        r = evaluate(mk, scenes, work/'eval'/f'scenes_lr{lr:g}', device=dev, split='all')
        res['mask-scenes-571'] = scores(r)
        summary.setdefault('lr_sweep', {})[f'{lr:g}'] = res
if not a.tiny and not a.quick and time.perf_counter() - t0_session < 300:
    with step('train_seed1'):
        m1 = work/'model_seed1'
        summary['train_seed1'] = run(1, m1)
        r = evaluate(m1, prep, work/'eval'/'test_seed1', device=dev, split='test')
        summary['train_seed1']['test'] = scores(r)
