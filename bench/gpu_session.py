"""Every GPU figure of the training and deployment issues in one run (started by bench/gpu_session.sh on the device):

1. `bench/train_speed.py --full --ablation`: the stock fastai recipe against ours, img/s and the ratio (resnet34, 224 px),
   and the ceiling: a plain PyTorch training step (bf16, channels-last, fused AdamW) on device batches, no data, no fastai.
2. Recipes from scratch (resnet34, 224 px, 40 epochs): the default (bs 64, lr from lr_find), then fixed learning rates,
   batch size 128, label smoothing and another seed, while the session is under `--budget` seconds. Each: training
   seconds, img/s, valid accuracy, then the leak-free test split of face-mask-4k and all of mask-scenes-571's face crops,
   each also with flip test-time augmentation (the mean of the image's and its mirror's probabilities).
3. With --inference: batched inference at 224 px, faces/s of `Classifier.classify_crops` and of the model alone.
4. With --data-paths: training img/s with the images held on the card and streamed from disk (step 2c), and their ratio;
   on a machine with several GPUs, the img/s of 1 and of N processes under torchrun (step 3b) and the speed-up.

Each step is guarded: a failure is recorded under `errors` and the next step runs. Writes summary.json, session.log,
train_speed.txt, history.csv, lr_find.png and confusion_test.png to $OUT (the device tool returns at most 8 files) and
everything else to $GPU_WORK. `--quick` trains and scores the default recipe only; `--tiny` runs the same plumbing small,
on a CPU.
"""
import argparse, json, os, subprocess, sys, time, shutil, warnings
from pathlib import Path
warnings.filterwarnings('ignore')
import numpy as np, torch

ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
ap.add_argument('--carry', default='carry/prepared', help='folder holding the prepared face-mask-4k and mask-scenes-571')
ap.add_argument('--tiny', action='store_true', help='CPU plumbing check: resnet18, 64 px, 1 epoch, 256 images')
ap.add_argument('--epochs', type=int, default=40); ap.add_argument('--arch', default='resnet34'); ap.add_argument('--size', type=int, default=224)
ap.add_argument('--skip-speed', action='store_true', help='skip step 1 (train_speed and the plain PyTorch ceiling)')
ap.add_argument('--recipes', help='JSON {name: train() arguments} to run after the default instead of the built-in list, e.g. \'{"bs256 lr8e-3": {"bs": 256, "lr": 0.008}}\'')
ap.add_argument('--no-default', action='store_true', help='skip the default recipe')
ap.add_argument('--quick', action='store_true', help='train the default recipe and evaluate it, nothing else')
ap.add_argument('--inference', action='store_true', help='also time batched inference (step 3)')
ap.add_argument('--data-paths', action='store_true', help='also time both data paths and, with several GPUs, data-parallel training (step 4)')
ap.add_argument('--budget', type=float, default=420, help='start no new recipe after this many seconds of the session')
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
    cmd = [sys.executable, 'bench/train_speed.py', '--prepared', str(prep), '--out', str(work/'train_speed.json'), '--ablation'] + ([] if a.tiny else ['--full'])
    try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as e: r = subprocess.CompletedProcess(cmd, 124, (e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or ''), 'timed out after 240 s')
    (out/'train_speed.txt').write_text(r.stdout[-3000:] + r.stderr[-4000:])
    summary['train_speed'] = json.loads((work/'train_speed.json').read_text()) if r.returncode == 0 else f'failed: {r.stderr[-500:]}'
    save()

# 1b. the ceiling: plain PyTorch training steps of the same model on random device batches
if not a.quick and not a.skip_speed:
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
    summary['plain_pytorch_train_img_per_s'] = {f'bs {b}': plain_steps(b, 3840 // b if cuda else 2) for b in ([64, 128, 256] if cuda else [16])}
    save()

# 2. recipes from scratch, each scored on valid, test and the scene crops
from mask_recog.train import train
from mask_recog.evaluate import evaluate, eval_rows
from mask_recog.model import load_model, to_batch
from mask_recog.inference import Classifier
from mask_recog.data import load_split
from mask_recog.images import load_rgb
from mask_recog.core import CLASSES
from mask_recog.metrics import binary_metrics
from PIL import Image

@torch.inference_mode()
def tta_scores(model_dir, data, split):
    "Accuracy and balanced accuracy of `model_dir` on `data` at its threshold, with flip test-time augmentation"
    net, meta = load_model(model_dir, dev)
    rows, _ = eval_rows(data, split=split)
    p = []
    for i in range(0, len(rows), 256):
        x = to_batch([Image.open(f).convert('RGB') for f in rows.file.iloc[i:i + 256]], meta).to(dev)
        p.append(((net(x).float().softmax(1) + net(x.flip(3)).float().softmax(1)) / 2)[:, 0].cpu().numpy())
    p, y = np.concatenate(p), np.array([CLASSES.index(l) for l in rows.label])
    return scores(binary_metrics(p, y, meta['threshold']), ['accuracy', 'balanced_accuracy', 'roc_auc'])

def run(name, seed=42, lr='auto', bs=64, label_smoothing=0., ep=None):
    "Train one recipe, then score it on test and on the scene crops (plain and with flip TTA)"
    model = work/name
    shutil.rmtree(model, ignore_errors=True)
    t = time.perf_counter()
    tr = train(prep, model, arch, size, ep or epochs, lr, bs, seed, pretrained=False, device=dev, limit=limit, label_smoothing=label_smoothing)
    m = tr['meta']
    res = {'seed': seed, 'bs': bs, 'label_smoothing': label_smoothing, 'epochs': ep or epochs, 'wall_s': round(time.perf_counter() - t, 1),
           'train_seconds': m['train_seconds'], 'train_img_per_s': m['train_img_per_s'], 'lr': m['lr'], 'threshold': m['threshold'],
           'best_epoch': m['best_epoch'], 'valid_at_0.5': tr['valid']['at_0.5']['accuracy'], 'valid_at_threshold': tr['valid']['at_threshold']['accuracy']}
    summary.setdefault('recipes', {})[name] = res; save()
    for sname, data, split in [('test', prep, 'test'), ('mask-scenes-571', scenes, 'all')]:
        r = evaluate(model, data, work/'eval'/name/sname, device=dev, split=split)
        res[sname] = scores(r, SCORES + ['threshold']) | {'at_0.5': scores(r['at_05'], ['accuracy', 'balanced_accuracy'])}
        res[sname + ' flip-TTA'] = tta_scores(model, data, split)
    save()
    return model

if not a.no_default:
  with step('default'):
      model = run('default')
      for f in ['history.csv', 'lr_find.png']:
          if (model/f).exists(): shutil.copy(model/f, out/f)
      if (work/'eval'/'default'/'test'/'confusion.png').exists(): shutil.copy(work/'eval'/'default'/'test'/'confusion.png', out/'confusion_test.png')

recipes = [] if a.quick else [('bs128 lr3e-3', dict(bs=128, lr=3e-3)), ('bs64 lr3e-3', dict(lr=3e-3)), ('bs128 lr6e-3', dict(bs=128, lr=6e-3)),
                              ('bs128 lr3e-3 ls0.1', dict(bs=128, lr=3e-3, label_smoothing=.1)), ('bs128 lr3e-3 seed1', dict(bs=128, lr=3e-3, seed=1)),
                              ('bs128 lr3e-3 80ep', dict(bs=128, lr=3e-3, ep=2 * epochs))]
if a.recipes: recipes = list(json.loads(a.recipes).items())
if a.tiny: recipes = recipes[:1]
for name, kw in recipes:
    if time.perf_counter() - t0_session > a.budget: summary.setdefault('skipped', []).append(name); save(); continue
    with step(name): run(name, **kw)

# 3. inference at the model's size: decoded crops in (preprocessing included), and the model alone on device batches
if a.inference and not a.quick:
  with step('inference'):
    model = work/'default'
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
# 4. the data paths on this card (3 epochs each, fixed lr), and the N-GPU speed-up where there are several
if a.data_paths and not a.quick:
  with step('data_paths'):
    dp, ep = {}, 1 if a.tiny else 3
    for stream in (False, True):
        tr = train(prep, work/f'path-{stream}', arch, size, ep, 1e-3, 64, 42, pretrained=False, device=dev, limit=limit, stream=stream)
        dp['disk' if stream else 'memory'] = {'train_img_per_s': tr['meta']['train_img_per_s'], 'data_path': tr['meta']['data_path']}
    dp['disk / memory'] = round(dp['disk']['train_img_per_s'] / dp['memory']['train_img_per_s'], 3)
    n = torch.cuda.device_count() if cuda else 0
    if n > 1:
        launcher = work/'train_cli.py'; launcher.write_text('from mask_recog.cli import train_cli\ntrain_cli()\n')
        for k in (1, n):
            cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(k), str(launcher), str(prep), '--out', str(work/f'ddp{k}'),
                   '--arch', arch, '--size', str(size), '--epochs', str(ep), '--lr', '1e-3', '--bs', str(64 * k), '--no-pretrained']
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=400, env={**os.environ, 'PYTHONPATH': os.getcwd()})
            if r.returncode: raise RuntimeError(r.stderr[-1500:])
            dp[f'{k} processes'] = json.loads((work/f'ddp{k}'/'model.json').read_text())['train_img_per_s']
        dp['speed-up'] = round(dp[f'{n} processes'] / dp['1 processes'], 2)
    else: dp['data-parallel'] = f'not measured: {n} GPU here (the speed-up needs several)'
    summary['data_paths'] = dp; save()
summary['session_seconds'] = round(time.perf_counter() - t0_session, 1); save()
