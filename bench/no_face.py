"""Issue 27, item 5: "no face" as one more class of the classifier, against a separate verifier, on every visible scene set.

Two classifiers are trained the same way on the same train photos of every set given, at the verifier's size and recipe
(`face_net` at `VERIFY_SIZE` px, from scratch, class weights balanced, flips, shifts and brightness, as `train_verifier`),
so that the two designs differ only in where the "no face" question is asked: one with two classes (the labelled faces and the
detections matching them, `with_mask` / `without_mask`), one with a third class, `no_face`, learnt from the detections
that overlap no labelled face (IoU < 0.1) and random patches of those photos: the verifier's negatives. Each detection of
the held photos (one pass of the default detector, `verify_mine.py --size 64`) is then labelled by each model:

- two classes, every detection kept; two classes and step 7d's verifier trained on the same photos (its threshold chosen
  on every set's valid photos, as `bench/verify_sets.py` chooses it);
- three classes: a detection is dropped when `no_face` is its most probable class, or when p(no_face) reaches a
  threshold chosen on every set's valid photos (the lowest of `FACE_THRESHOLDS` that costs no set more than `DROP`
  points of found-and-correct against the two-class model keeping every detection).

Test photos are scored, never used to choose. Faces of a class a two-class model lacks (face-mask-853's
`mask_weared_incorrect`) are ignored regions (`--ignore`, as `bench/gates.py`).

    python bench/verify_mine.py SCENES CLASSIFIER TRAIN.npz --splits train          # once per set
    python bench/verify_mine.py SCENES CLASSIFIER HELD.npz --splits valid,test
    python bench/no_face.py mask-scenes-571=TRAIN_571.npz,HELD_571.npz face-mask-853=TRAIN_853.npz,HELD_853.npz \\
        --ignore face-mask-853=SCENES_853 --json bench/results/no_face.json
"""
import sys, json, time, argparse
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import numpy as np, torch
from torch import nn
from mask_recog.core import CLASSES
from mask_recog.preprocess import IMAGENET_STATS
from mask_recog.detect import match_boxes
from mask_recog.verify import train_verifier, face_net
from gates import summary, set_tables
from verify_measure import verifier_data
from verify_sets import load_sets, kept, pick, qualifying, DROP

NO_FACE = 'no_face'
RECIPE = dict(epochs=15, bs=128, lr=3e-3, seed=0)  # `train_verifier`'s recipe (as `mask-recog-verifier` runs it), for both classifiers

def class_data(recs:list, kind:np.ndarray, no_face:bool)->tuple[np.ndarray, np.ndarray]:
    "`(rows of the crops, class index)`: labelled faces and the detections matching them by their label (`CLASSES`; others left out); with `no_face`, the verifier's negatives as class 2"
    rows, y = [], []
    for r in recs:
        tb = np.array([b for _, b in r['truth']], float).reshape(-1, 4)
        fb = np.array([f['box'] for f in r['faces']], float).reshape(-1, 4)
        m = match_boxes(tb, fb, 0.3)
        for i, (lab, _) in enumerate(r['truth']):
            if lab not in CLASSES: continue
            rows.append(r['labelled_crops'][i]); y.append(CLASSES.index(lab))
            if i in m: rows.append(r['faces'][m[i]]['crop']); y.append(CLASSES.index(lab))
    if no_face:
        neg, is_face = verifier_data(recs, kind)
        rows += [c for c, f in zip(neg, is_face) if not f]; y += [2] * int((~is_face).sum())
    return np.array(rows, int), np.array(y, int)

def _tensor(crops:np.ndarray)->torch.Tensor:
    mean, std = (torch.tensor(v, dtype=torch.float32).view(1, 3, 1, 1) for v in IMAGENET_STATS)
    return (torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float() / 255 - mean) / std

def fit(crops:np.ndarray, y:np.ndarray, k:int, epochs:int, bs:int, lr:float, seed:int, log=None)->nn.Module:
    "A `face_net` of `k` classes trained from scratch on `crops` as `train_verifier` trains one (one cycle, class weights balanced, flips, shifts, brightness)"
    torch.manual_seed(seed); g = torch.Generator().manual_seed(seed)
    x, t = _tensor(crops), torch.from_numpy(y)
    model = face_net(); model[-1] = nn.Linear(model[-1].in_features, k)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * -(-len(x) // bs))
    w = torch.tensor(len(y) / (k * np.bincount(y, minlength=k).clip(1)), dtype=torch.float32)
    loss_fn, size, pad = nn.CrossEntropyLoss(weight=w), crops.shape[1], crops.shape[1] // 8
    for ep in range(epochs):
        model.train(); tot = 0.
        for idx in torch.randperm(len(x), generator=g).split(bs):
            xb = x[idx]
            xb = torch.where((torch.rand(len(xb), generator=g) < .5).view(-1, 1, 1, 1), xb.flip(3), xb)
            dx, dy = torch.randint(0, 2 * pad + 1, (2,), generator=g).tolist()
            xb = nn.functional.pad(xb, (pad,) * 4, mode='replicate')[:, :, dy:dy + size, dx:dx + size]
            xb = xb * (1 + .3 * (torch.rand(len(xb), 1, 1, 1, generator=g) - .5)) + .3 * (torch.rand(len(xb), 1, 1, 1, generator=g) - .5)
            loss = loss_fn(model(xb), t[idx])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step(); tot += loss.item() * len(idx)
        if log: log(f'  epoch {ep + 1}/{epochs}: loss {tot / len(x):.4f}')
    return model.eval()

@torch.no_grad()
def probs(model:nn.Module, crops:np.ndarray, bs:int=256)->np.ndarray:
    "Softmax of `model` on every crop"
    return np.concatenate([model(_tensor(crops[i:i + bs])).softmax(1).numpy() for i in range(0, len(crops), bs)])

def labelled(recs:list, key:str, drop=None)->list:
    "`recs` with each detection labelled by the probabilities `f[key]` of its crop (argmax of the two face classes); `drop(f)`: left out"
    return [{**r, 'faces': [{**f, 'label': CLASSES[int(np.argmax(f[key][:2]))]} for f in r['faces'] if drop is None or not drop(f)]} for r in recs]

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('sets', nargs='+', help='NAME=TRAIN.npz,HELD.npz, one per scene set (verify_mine.py --splits train, then valid,test)')
    ap.add_argument('--ignore', action='append', default=[], help='NAME=SCENES: detections on faces of a class a two-class model lacks are left out (as gates.py)')
    ap.add_argument('--json', help='write the figures and the tables the Results page renders here')
    ap.add_argument('--epochs', type=int, default=RECIPE['epochs'], help='training passes of both classifiers (fewer: a quick look, not the figures)')
    a = ap.parse_args()
    log = lambda m: print(m, file=sys.stderr, flush=True)
    train, held = load_sets(a.sets, a.ignore, log)
    data, models, secs = {}, {}, {}
    for k in (2, 3):
        parts = [class_data(recs, kind, k == 3) for recs, _, kind in train.values()]
        x, y = np.concatenate([train[n][1][r] for n, (r, _) in zip(train, parts)]), np.concatenate([y for _, y in parts])
        data[k] = {c: int((y == i).sum()) for i, c in enumerate([*CLASSES, NO_FACE][:k])}
        log(f'{k} classes: {data[k]}'); t0 = time.time()
        models[k] = fit(x, y, k, **{**RECIPE, 'epochs': a.epochs}, log=log); secs[k] = round(time.time() - t0, 1)
    vparts = [verifier_data(recs, kind) for recs, _, kind in train.values()]
    vx = np.concatenate([train[n][1][r] for n, (r, _) in zip(train, vparts)])
    t0 = time.time(); ver = train_verifier(vx, np.concatenate([f for _, f in vparts]), epochs=RECIPE['epochs']); secs['verifier'] = round(time.time() - t0, 1)
    for n, (recs, crops, _) in held.items():
        p2, p3, pf = probs(models[2], crops), probs(models[3], crops), ver(list(crops))
        for r in recs:
            for f in r['faces']: f['p2'], f['p3'], f['prob_face'] = p2[f['crop']].tolist(), p3[f['crop']].tolist(), float(pf[f['crop']])
    valid = {n: [r for r in recs if r['split'] == 'valid'] for n, (recs, _, _) in held.items()}
    test = {n: [r for r in recs if r['split'] == 'test'] for n, (recs, _, _) in held.items()}
    base = {n: summary(labelled(v, 'p2')) for n, v in valid.items()}
    t_ver = pick({n: labelled(v, 'p2') for n, v in valid.items()}, base)
    t_nf = next(iter(qualifying(valid, base, lambda v, t: labelled(v, 'p3', lambda f: f['p3'][2] >= t))), None)  # the lowest: drops the most
    log(f'verifier threshold {t_ver}, no_face threshold {t_nf} (chosen on every set\'s valid photos)')
    settings = {'released classifier, every detection (as above)': lambda v: v,
                'two classes, every detection': lambda v: labelled(v, 'p2'),
                'three classes, every detection': lambda v: labelled(v, 'p3')}
    if t_ver is not None: settings[f'two classes + verifier ≥ {t_ver:.2f}'] = lambda v: kept(labelled(v, 'p2'), t_ver)
    settings['three classes, no_face dropped when most probable'] = lambda v: labelled(v, 'p3', lambda f: int(np.argmax(f['p3'])) == 2)
    if t_nf is not None: settings[f'three classes, no_face dropped at p ≥ {t_nf:.2f}'] = lambda v: labelled(v, 'p3', lambda f: f['p3'][2] >= t_nf)
    report = []
    for label, make in settings.items():
        for n in held:
            for part, recs in (('valid', valid[n]), ('test', test[n])):
                report.append({'setting': label, 'set': n, 'photos': part, **{k: round(v, 1) for k, v in summary(make(recs)).items()}})
    for r in report: print(json.dumps(r, ensure_ascii=False))
    if a.json:
        from _record import Record
        tables = set_tables(report, held)
        Record().write(a.json, recipe={**RECIPE, 'epochs': a.epochs}, drop=DROP, train_crops={f'{k} classes': v for k, v in data.items()}, train_seconds=secs,
                       verifier_threshold=t_ver, no_face_threshold=t_nf, report=report, tables=tables)

if __name__ == '__main__': main()
