"""Issue 27, item 5: does a face verifier hold on every visible scene set? Verifiers trained on the train photos of one set
or of both, each threshold chosen on the valid photos of every set at once, reported per set on valid and on test photos.

Step 7d's verifier was trained and tuned on mask-scenes-571 alone, and on face-mask-853 it cost 30 points of found-and-correct
`without_mask` (it rejects real faces of another camera and resolution). Here each verifier's threshold is the highest of
`FACE_THRESHOLDS` that keeps found-and-correct of both classes (IoU 0.3) within `DROP` points of no verifier on the valid
photos of *every* set; test photos are never used to choose. The same is done after the gates `bench/gates.py` chose.

    python bench/verify_mine.py SCENES CLASSIFIER TRAIN.npz --splits train         # once per set (the same classifier)
    python bench/verify_mine.py SCENES CLASSIFIER HELD.npz --splits valid,test
    python bench/verify_sets.py mask-scenes-571=TRAIN_571.npz,HELD_571.npz face-mask-853=TRAIN_853.npz,HELD_853.npz \\
        --ignore face-mask-853=SCENES_853 --gates bench/results/gates.json --json bench/results/verify_sets.json
"""
import sys, json, time, argparse
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import numpy as np
from mask_recog.detect import unmatched_detections, false_alarm_grid
from mask_recog.verify import train_verifier, FACE_THRESHOLDS
from gates import drop_ignored, summary, within, name_of, set_tables
from verify_measure import gated, verifier_data

DROP = 1.0  # most found-and-correct (points, per class, IoU 0.3, valid photos of every set) a verifier may cost: the budget
EPOCHS = 15  # the verifier's training passes, as `mask-recog-verifier`'s default

def load(f:str)->tuple:
    "`(records, crops, crop_kind)` as `verify_mine.py` wrote them to `f`"
    z = np.load(f)
    return json.loads(str(z['records'])), z['crops'], z['crop_kind']

def load_sets(sets:list, ignore:list, log)->tuple[dict, dict]:
    "`(train, held)`: per set name, `load` of its TRAIN.npz and HELD.npz (`sets`: NAME=TRAIN.npz,HELD.npz); `ignore` (NAME=SCENES): detections on faces of an `IGNORED` class of SCENES left out of HELD"
    train, held = {}, {}
    for s in sets:
        n, files = s.split('=', 1); tr, he = files.split(',')
        train[n], held[n] = load(tr), load(he)
    for spec in ignore:
        n, scenes = spec.split('=', 1)
        recs, dropped = drop_ignored(held[n][0], scenes)
        held[n] = (recs, *held[n][1:]); log(f'{n}: {dropped} detections on faces of an ignored class left out')
    return train, held

def kept(recs:list, t:float)->list:
    "`recs` with only the detections the verifier scores at least `t`"
    return [{**r, 'faces': [f for f in r['faces'] if f['prob_face'] >= t]} for r in recs]

def qualifying(valid:dict, base:dict, make=kept)->list[float]:
    "The `FACE_THRESHOLDS` at which `make(recs, t)` stays within `DROP` points of `base` on every set's valid photos"
    return [float(t) for t in FACE_THRESHOLDS if all(within(summary(make(v, t)), base[n], DROP) for n, v in valid.items())]

def pick(valid:dict, base:dict)->float|None:
    "The highest of `FACE_THRESHOLDS` within `DROP` points of `base` on every set's valid photos (None: not even the lowest)"
    ok = qualifying(valid, base)
    return ok[-1] if ok else None

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('sets', nargs='+', help='NAME=TRAIN.npz,HELD.npz, one per scene set (verify_mine.py --splits train, then valid,test)')
    ap.add_argument('--ignore', action='append', default=[], help='NAME=SCENES: detections on the faces SCENES (VOC) labels with a class a two-class model lacks are left out (as gates.py)')
    ap.add_argument('--gates', help="gates.py's JSON: its chosen gates are also combined with each verifier")
    ap.add_argument('--json', help='write the figures and the tables the Results page renders here')
    ap.add_argument('--grid', action='append', default=[], help='NAME=SCENES=PNG: a grid of the `without_mask` detections on valid photos of NAME that match no labelled face and that the verifier trained on every set keeps')
    a = ap.parse_args()
    log = lambda m: print(m, file=sys.stderr, flush=True)
    train, held = load_sets(a.sets, a.ignore, log)
    data = {}
    for n, (recs, crops, kind) in train.items(): rows, y = verifier_data(recs, kind); data[n] = crops[rows], y
    for n, (c, y) in data.items(): log(f'{n} train photos: {int(y.sum())} face crops, {int((~y).sum())} non-face crops')
    fits = {f'{n} alone': [n] for n in train} | ({' + '.join(train): list(train)} if len(train) > 1 else {})
    gates = json.loads(Path(a.gates).read_text())['chosen'] if a.gates else None
    valid = {n: [r for r in held[n][0] if r['split'] == 'valid'] for n in held}
    test = {n: [r for r in held[n][0] if r['split'] == 'test'] for n in held}
    base = {n: summary(v) for n, v in valid.items()}
    settings, verifiers = {'no verifier': (None, {}, None)}, []
    if gates: settings[f'gates {name_of(gates)}'] = (None, gates, None)
    for fit, names in fits.items():
        t0 = time.time()
        ver = train_verifier(np.concatenate([data[n][0] for n in names]), np.concatenate([data[n][1] for n in names]), epochs=EPOCHS)
        secs = time.time() - t0
        for n in held:  # every held detection's prob_face under this verifier
            p = ver(list(held[n][1]))
            for r in held[n][0]:
                for f in r['faces']: f[f'p {fit}'] = float(p[f['crop']])
        score = lambda recs, fit=fit: [{**r, 'faces': [{**f, 'prob_face': f[f'p {fit}']} for f in r['faces']]} for r in recs]
        own = pick({names[0]: score(valid[names[0]])}, base) if len(names) == 1 else None  # step 7d's way: tuned on its own set
        every = pick({n: score(v) for n, v in valid.items()}, base)
        with_gates = pick({n: score(gated(v, gates)) for n, v in valid.items()}, base) if gates else None
        verifiers.append({'trained on': fit, 'crops': int(sum(len(data[n][1]) for n in names)), 'train_seconds': round(secs, 1),
                          f'threshold chosen on {names[0]} valid alone': own, 'threshold chosen on every set': every, 'threshold with the gates': with_gates})
        log(f'{fit}: trained in {secs:.0f} s; threshold on its own set {own}, on every set {every}, with the gates {with_gates}')
        if own is not None: settings[f'verifier ({fit}) ≥ {own:.2f}, chosen on {names[0]} alone'] = (score, {}, own)
        if every is not None: settings[f'verifier ({fit}) ≥ {every:.2f}, chosen on every set'] = (score, {}, every)
        if with_gates is not None: settings[f'gates + verifier ({fit}) ≥ {with_gates:.2f}'] = (score, gates, with_gates)
    report = []
    for label, (score, g, t) in settings.items():
        for n in held:
            for part, recs in (('valid', valid[n]), ('test', test[n])):
                rr = gated(recs, g) if g else recs
                if t is not None: rr = kept(score(rr), t)
                report.append({'setting': label, 'set': n, 'photos': part, **{k: round(v, 1) for k, v in summary(rr).items()}})
    for r in report: print(json.dumps(r))
    shipped = next((k for k in settings if k.startswith(f"verifier ({' + '.join(train)})") and k.endswith('chosen on every set')), None)  # what `mask-recog-verifier` on every set gives
    for spec in a.grid:
        n, scenes, png = spec.split('=', 2)
        score, g, t = settings[shipped]
        left = unmatched_detections(kept(score(valid[n]), t), 0.3, 'without_mask')
        log(f'{n}: {len(left)} unmatched `without_mask` detections left by {shipped}: {false_alarm_grid(scenes, left, png, n=32)}')
    if a.json:
        from _record import Record
        at = {(r['setting'], r['set'], r['photos']): r for r in report}
        one = {n: next((k for k in settings if k.startswith(f'verifier ({n} alone)') and k.endswith(f'chosen on {n} alone')), None) for n in held}
        def says(n):
            base = at[('no verifier', n, 'valid')]
            cost = lambda k: f"{at[(k, n, 'valid')]['with f+c'] - base['with f+c']:+.1f} / {at[(k, n, 'valid')]['without f+c'] - base['without f+c']:+.1f}"
            lone = [f"a verifier trained and tuned on {m} alone {cost(one[m])}" for m in held if m != n and one[m]]
            return ("Against no verifier, found and correct (with / without, points): " + '; '.join(lone + ([f'one trained on every set {cost(shipped)}'] if shipped else []))
                    + f". Said `without_mask` and matching no face: {base['without unm']}% with none" + (f", {at[(shipped, n, 'valid')]['without unm']}% with the verifier of every set." if shipped else '.'))
        tables = set_tables(report, held, {n: says(n) for n in held})
        Record().write(a.json, drop=DROP, epochs=EPOCHS, gates=gates, verifiers=verifiers, shipped=shipped,
                       train_crops={n: {'faces': int(y.sum()), 'not_faces': int((~y).sum())} for n, (_, y) in data.items()}, report=report, tables=tables)

if __name__ == '__main__': main()
