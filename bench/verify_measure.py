"""Issue 14, measured: gates chosen on the valid photos, a verifier trained on the train photos' mined crops (its threshold chosen
on valid), every setting scored on valid + test and on test alone. Reads `bench/verify_mine.py`'s outputs.

    python bench/verify_mine.py SCENES CLF /tmp/v14/mine_train.npz --splits train
    python bench/verify_mine.py SCENES CLF /tmp/v14/mine_held.npz --splits valid,test
    OMP_NUM_THREADS=2 python bench/verify_measure.py SCENES /tmp/v14/mine_train.npz /tmp/v14/mine_held.npz OUT_DIR
"""
import sys, json, time, argparse
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import numpy as np, pandas as pd
from mask_recog.core import CLASSES
from mask_recog.detectors import box_iou
from mask_recog.detect import match_boxes, score_detections, unmatched_detections, false_alarm_grid
from mask_recog.verify import gate_faces, train_verifier, load_verifier, GATES_OFF

DROP = 0.5  # most found-and-correct (points, per class, IoU 0.3, valid photos) one gate may cost
DROP_ALL = 1.0  # ... and all of them together with the verifier

def load(f):
    z = np.load(f)
    return json.loads(str(z['records'])), z['crops'], z['crop_kind']

def filt(recs, keep):
    "Records with only the faces `keep(face)` accepts"
    return [{**r, 'faces': [f for f in r['faces'] if keep(f)]} for r in recs]

def gated(recs, g): return [{**r, 'faces': gate_faces(r['faces'], **{**GATES_OFF, **g})} for r in recs]

def summary(recs):
    s = score_detections(recs, (0.5, 0.3))
    return {'with f+c': 100 * s[0.3]['with_mask']['found_correct'], 'without f+c': 100 * s[0.3]['without_mask']['found_correct'],
            'with unm .3': 100 * s[0.3]['alerts']['with_mask']['unmatched'], 'with unm .5': 100 * s[0.5]['alerts']['with_mask']['unmatched'],
            'without unm .3': 100 * s[0.3]['alerts']['without_mask']['unmatched'], 'without unm .5': 100 * s[0.5]['alerts']['without_mask']['unmatched'],
            'n with': s[0.3]['alerts']['with_mask']['detections'], 'n without': s[0.3]['alerts']['without_mask']['detections']}

def verifier_data(recs:list, kind:np.ndarray, clean:float=1.01, extra:bool=False)->tuple[list, np.ndarray]:
    "`(rows of the crops, is_face)` as step 7d trains on them: detections matching a labelled face (IoU >= 0.3) and the labelled crops are faces; detections overlapping none (IoU < 0.1) and random patches (`kind` 2; with `extra`, looser detectors' finds, kind 3) are not"
    use, is_face = [], []
    for r in recs:
        tb = np.array([b for _, b in r['truth']], float).reshape(-1, 4)
        fb = np.array([f['box'] for f in r['faces']], float).reshape(-1, 4)
        hit = set(match_boxes(tb, fb, 0.3).values())
        mx = box_iou(fb, tb).max(1) if len(tb) and len(fb) else np.zeros(len(fb))
        for j, f in enumerate(r['faces']):
            if j in hit: use.append(f['crop']); is_face.append(True)
            elif mx[j] < 0.1 and f['src']['yunet'] < clean: use.append(f['crop']); is_face.append(False)  # clean: YuNet's confident finds are likely faces the labels skip, not negatives
        use += r['labelled_crops']; is_face += [True] * len(r['labelled_crops'])
    use += list(np.nonzero(kind == 2)[0]); is_face += [False] * int((kind == 2).sum())
    if extra: use += list(np.nonzero(kind == 3)[0]); is_face += [False] * int((kind == 3).sum())
    return use, np.array(is_face)

def ok(s, base, drop): return s['with f+c'] >= base['with f+c'] - drop - 1e-9 and s['without f+c'] >= base['without f+c'] - drop - 1e-9
def cost(s): return s['without unm .3'] + s['with unm .3']

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenes'); ap.add_argument('train'); ap.add_argument('held'); ap.add_argument('out')
    ap.add_argument('--epochs', type=int, default=12); ap.add_argument('--clean', type=float, default=1.01); ap.add_argument('--extra', action='store_true', help='also use the looser detectors\' unmatched detections (verify_mine.py --loose) as negatives'); ap.add_argument('--images', default='images')
    ap.add_argument('--json', help='also write the tables the Results page renders to this JSON file')
    a = ap.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    tr, tr_crops, tr_kind = load(a.train)
    held, h_crops, _ = load(a.held)
    valid = [r for r in held if r['split'] == 'valid']
    test = [r for r in held if r['split'] == 'test']
    log = lambda m: print(m, file=sys.stderr, flush=True)

    # --- gates, one at a time, each setting chosen on valid
    base_v = summary(valid)
    grid = {'min_side': [('min_side', v) for v in (8, 10, 12, 14, 16, 18, 20, 24, 28)],
            'yunet_score': [('yunet_score', v) for v in (.55, .6, .65, .7, .75, .8, .85)],
            'ssd_score': [('ssd_score', v) for v in (.4, .5, .6, .7, .8, .9, 1.01)],
            'tile_score': [('tile_score', v) for v in (.4, .5, .6, .7, .8, .9, 1.01)],
            'geometry': [('geometry', v) for v in ((0., 99.), (.15, .9), (.2, .8), (.25, .75), (.3, .7), (.35, .65))]}
    chosen, sweep = {}, []
    for name, opts in grid.items():
        best = None
        for k, v in opts:
            s = summary(gated(valid, {k: v}))
            sweep.append({'gate': k, 'value': str(v), **{x: round(y, 1) for x, y in s.items()}, 'within budget': ok(s, base_v, DROP)})
            if ok(s, base_v, DROP) and cost(s) < cost(base_v) - 1e-9 and (best is None or cost(s) < best[1]): best = (v, cost(s))
        if best: chosen[name] = best[0]
        log(f"gate {name}: {'kept at ' + str(best[0]) if best else 'dropped (no setting lowers the unmatched share within budget)'}")
    # all kept gates together: drop the least useful while over budget
    combo = dict(chosen)
    while combo and not ok(summary(gated(valid, combo)), base_v, DROP_ALL / 2):
        worst = min(combo, key=lambda k: cost(summary(gated(valid, {kk: vv for kk, vv in combo.items() if kk != k}))) - cost(summary(gated(valid, combo))))
        log(f'combination over budget: dropping {worst}'); combo.pop(worst)
    log(f'best gates: {combo}')

    # --- the verifier, trained on train photos' crops
    use, is_face = verifier_data(tr, tr_kind, a.clean, a.extra)
    n_neg_det = int((~is_face).sum() - (tr_kind == 2).sum() - (a.extra and (tr_kind == 3).sum()))
    log(f'verifier data: {is_face.sum()} faces, {n_neg_det} unmatched detections, {(tr_kind == 2).sum()} random patches' + (f', {(tr_kind == 3).sum()} looser detections' if a.extra else ''))
    t0 = time.time()
    ver = train_verifier(tr_crops[use], is_face, epochs=a.epochs, log=log)
    train_s = time.time() - t0
    log(f'trained in {train_s:.0f} s')
    pf = ver(list(h_crops))
    for r in held:
        for f in r['faces']: f['prob_face'] = float(pf[f['crop']])

    def vfilt(recs, thr): return filt(recs, lambda f: f['prob_face'] >= thr)
    thrs = np.round(np.arange(0.05, 0.96, 0.05), 2)
    def pick(recs, budget):
        best = None
        for t in thrs:
            s = summary(vfilt(recs, t))
            if ok(s, base_v, budget): best = float(t)
        return best
    t_alone = pick(valid, DROP_ALL)
    t_combo = pick(gated(valid, combo), DROP_ALL)
    vsweep = [{'threshold': float(t), **{x: round(y, 1) for x, y in summary(vfilt(gated(valid, combo), t)).items()}} for t in thrs]
    log(f'verifier threshold alone {t_alone}, after gates {t_combo}')
    ver.threshold = t_combo if t_combo is not None else .5
    ver.meta.update({'trained_on': 'mask-scenes-571 train photos: detections of load_detector() matching labelled faces (IoU>=0.3), '
                     'labelled crops; negatives: detections with IoU<0.1 to every labelled face' + (f' and YuNet score < {a.clean}' if a.clean <= 1 else '') + ', random patches' + (', unmatched detections of looser detectors (YuNet >= 0.3, SSD >= 0.15)' if a.extra else ''),
                     'threshold_chosen_on': 'mask-scenes-571 valid photos, after the gates ' + json.dumps(combo), 'train_seconds': round(train_s, 1)})
    ver.save(out/'verifier')

    settings = {'default': (GATES_OFF, None)}
    for k, v in chosen.items(): settings[f'gate {k} = {v}'] = ({k: v}, None)
    settings[f'best gates {json.dumps(combo)}'] = (combo, None)
    if 'tile_score' in combo: settings['best gates without the tile gate'] = ({k: v for k, v in combo.items() if k != 'tile_score'}, None)
    if t_alone is not None: settings[f'verifier ≥ {t_alone:.2f}'] = ({}, t_alone)
    settings[f'best gates + verifier ≥ {ver.threshold:.2f}'] = (combo, ver.threshold)
    if 'min_side' in chosen:
        ms = {'min_side': chosen['min_side']}
        if (t_ms := pick(gated(valid, ms), DROP_ALL)) is not None: settings[f"gate min_side = {chosen['min_side']} + verifier ≥ {t_ms:.2f}"] = (ms, t_ms)
    if 'tile_score' in combo:
        nt = {k: v for k, v in combo.items() if k != 'tile_score'}
        t_nt = pick(gated(valid, nt), DROP_ALL)
        if t_nt is not None: settings[f'best gates without the tile gate + verifier ≥ {t_nt:.2f}'] = (nt, t_nt)
    rows = []
    for name, (g, t) in settings.items():
        for part, recs in (('valid', valid), ('valid+test', held), ('test', test)):
            rr = gated(recs, g)
            if t is not None: rr = vfilt(rr, t)
            nc = summary([r for r in rr if 'crowd' not in r['path']])
            rows.append({'setting': name, 'photos': part, **{x: round(y, 1) for x, y in summary(rr).items()},
                         'without unm .3, no crowd photos': round(nc['without unm .3'], 1), 'with unm .3, no crowd photos': round(nc['with unm .3'], 1)})
    table = pd.DataFrame(rows)
    best = vfilt(gated(held, combo), ver.threshold)
    fa = unmatched_detections(best, 0.3, 'without_mask')
    if fa: false_alarm_grid(a.scenes, fa, Path(a.images)/'false_alarms_after.png')
    res = {'chosen': {k: v for k, v in chosen.items()}, 'combo': combo, 'threshold_alone': t_alone, 'threshold_combo': ver.threshold,
           'train_seconds': train_s, 'n_faces': int(is_face.sum()), 'n_neg_det': n_neg_det, 'n_patches': int((tr_kind == 2).sum()),
           'table': rows, 'sweep': sweep, 'vsweep': vsweep, 'remaining_without_unmatched': len(fa)}
    (out/'results.json').write_text(json.dumps(res, indent=1, default=str))
    pd.set_option('display.width', 250); pd.set_option('display.max_columns', 20); pd.set_option('display.max_colwidth', 60)
    print(table.to_string(index=False))
    if a.json:
        from _record import Record, table as rtable
        cols = ['setting', 'with_mask found + correct', 'without_mask found + correct', 'said with_mask: unmatched', 'said without_mask: unmatched', 'detections said with / without',
                'said without_mask: unmatched outside `crowd_mask*` photos']
        cells = lambda part: [[r['setting'], r['with f+c'], r['without f+c'], r['with unm .3'], r['without unm .3'], f"{r['n with']} / {r['n without']}", r['without unm .3, no crowd photos']]
                              for r in rows if r['photos'] == part]
        d = {r['setting']: r for r in rows if r['photos'] == 'valid+test'}
        says = (f"On the held-out photos the default leaves {d['default']['without unm .3']}% of `without_mask` detections matching no labelled face; "
                + '; '.join(f"{k}: {v['without unm .3']}%, found and correct {v['with f+c'] - d['default']['with f+c']:+.1f} / {v['without f+c'] - d['default']['without f+c']:+.1f} points"
                            for k, v in d.items() if 'verifier' in k) + '.')
        Record().write(a.json, chosen=chosen, combo=combo, threshold_alone=t_alone, threshold_combo=ver.threshold, train_seconds=round(train_s, 1),
                       verifier_data=dict(faces=int(is_face.sum()), unmatched_detections=n_neg_det, patches=int((tr_kind == 2).sum())), rows=rows,
                       remaining_without_unmatched=len(fa),
                       tables=[rtable('Held-out photos (valid + test): shares in %, IoU ≥ 0.3', cols, cells('valid+test'), says),
                               rtable('Test photos alone', cols, cells('test'))])
    # the held photos' detections with prob_face, for the tests' examples
    (out/'held_faces.json').write_text(json.dumps([{'path': r['path'], 'truth': r['truth'], 'faces': [{k: f[k] for k in ('box', 'label', 'score', 'prob_face', 'crop')} for f in r['faces']]} for r in held]))

if __name__ == '__main__': main()
