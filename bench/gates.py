"""Issue 27, item 5: detection gates chosen on the valid photos of every visible scene set at once, reported per set.

A gate drops detections before they are called `with_mask` or `without_mask` (too small a box, too low a detector score).
Each setting is scored on each set's valid photos; it qualifies when, on every set, found-and-correct of both classes
(IoU 0.3) stays within `DROP` points of no gate. Of those, the one that leaves the fewest `without_mask` detections matching
no labelled face (the worst set's share, then the sum) is chosen. The chosen setting and the command line's current
default are then reported per set on valid and on test photos (test is never used to choose).

    python bench/verify_mine.py SCENES CLASSIFIER HELD.npz --splits valid,test      # once per set (the same classifier)
    python bench/gates.py mask-scenes-571=HELD_571.npz face-mask-853=HELD_853.npz --ignore face-mask-853=SCENES_853 --json bench/results/gates.json

Faces of a class a two-class classifier cannot name (face-mask-853's `mask_weared_incorrect`, read from its VOC files with
`--ignore`) are ignored regions, as COCO treats its crowd boxes: a detection on one (IoU ≥ 0.3) is neither a find nor a false alarm.
"""
import sys, json, argparse, itertools
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import numpy as np
from mask_recog.detectors import box_iou
from mask_recog.detect import score_detections, face_box, MIN_FACE
from mask_recog.data import scan_voc
from mask_recog.verify import GATES_OFF
from verify_measure import gated  # the same gates, applied as step 7d's measurement applies them

DROP = 1.0  # most found-and-correct (points, per class, IoU 0.3, valid photos of every set) a default gate may cost: the budget
GRID = {'min_side': (0, 4, 6, 8, 10, 12), 'yunet_score': (0., .6, .7, .8), 'ssd_score': (0., .5, .6, .7, .8), 'tile_score': (0., .6, .7, .8, .9)}

def load(f:str)->list:
    "The per-photo records `verify_mine.py` wrote to `f`"
    return json.loads(str(np.load(f)['records']))

IGNORED = {'mask_weared_incorrect': 'ignore', 'incorrect_mask': 'ignore', 'mask_incorrect': 'ignore'}  # labels read as ignored regions

def drop_ignored(recs:list, scenes:str|Path)->tuple[list, int]:
    "`recs` without the detections on faces labelled with an `IGNORED` class in the VOC set `scenes`; and how many were dropped"
    items, _ = scan_voc(scenes, mapping=IGNORED)
    boxes = {}
    for it in items:
        if it['label'] == 'ignore': boxes.setdefault(it['path'], []).append(it['box'])
    out, n = [], 0
    for r in recs:
        ig = np.array([face_box(b, r['shape'][1], r['shape'][0]) for b in boxes.get(r['path'], [])], float).reshape(-1, 4)
        keep = [f for f in r['faces'] if not len(ig) or box_iou(np.array([f['box']], float), ig).max() < 0.3]
        n += len(r['faces']) - len(keep); out.append({**r, 'faces': keep})
    return out, n

def summary(recs:list)->dict:
    "Found-and-correct per class and the unmatched share of each said label, in %, at IoU 0.3 (a setting that keeps no detection finds nothing: 0)"
    s = score_detections(recs, (0.3,))[0.3]
    al = s['alerts'] or {c: {'detections': 0, 'unmatched': 0.} for c in ('with_mask', 'without_mask')}  # None: no detection is left to carry a label
    return {'with f+c': 100 * (s['with_mask']['found_correct'] or 0.), 'without f+c': 100 * (s['without_mask']['found_correct'] or 0.),
            'with unm': 100 * al['with_mask']['unmatched'], 'without unm': 100 * al['without_mask']['unmatched'],
            'n with': al['with_mask']['detections'], 'n without': al['without_mask']['detections'],
            'faces with': s['with_mask']['faces'], 'faces without': s['without_mask']['faces']}

COLS = ['setting', 'with_mask found + correct', 'without_mask found + correct', 'said with_mask: unmatched', 'said without_mask: unmatched', 'detections said with / without']

def set_tables(report:list, sets, says:dict|None=None)->list:
    "The Results page's tables of `report` rows (`summary` with `setting`, `set`, `photos`): per set its valid, then its test photos; `says[set]` under the valid one"
    from _record import table
    cells = lambda n, part: [[r['setting'], r['with f+c'], r['without f+c'], r['with unm'], r['without unm'], f"{r['n with']} / {r['n without']}"]
                             for r in report if r['set'] == n and r['photos'] == part]
    return [table(f'{n}, {part} photos: shares in %, IoU ≥ 0.3', COLS, cells(n, part), (says or {}).get(n, '') if part == 'valid' else '') for n in sets for part in ('valid', 'test')]

def within(s:dict, base:dict, drop:float=DROP)->bool: return s['with f+c'] >= base['with f+c'] - drop - 1e-9 and s['without f+c'] >= base['without f+c'] - drop - 1e-9

def name_of(g:dict)->str: return ', '.join(f'{k} {v}' for k, v in g.items() if v != GATES_OFF[k]) or 'no gate'

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('sets', nargs='+', help='NAME=HELD.npz, one per scene set (verify_mine.py --splits valid,test)')
    ap.add_argument('--ignore', action='append', default=[], help='NAME=SCENES: detections on the faces SCENES (VOC) labels with a class in IGNORED are left out')
    ap.add_argument('--json', help='write the figures and the tables the Results page renders here')
    a = ap.parse_args()
    sets = {s.split('=', 1)[0]: load(s.split('=', 1)[1]) for s in a.sets}
    ignored = {}
    for spec in a.ignore:
        n, scenes = spec.split('=', 1)
        sets[n], ignored[n] = drop_ignored(sets[n], scenes)
        print(f'{n}: {ignored[n]} detections on faces of an ignored class left out', file=sys.stderr)
    valid = {n: [r for r in recs if r['split'] == 'valid'] for n, recs in sets.items()}
    test = {n: [r for r in recs if r['split'] == 'test'] for n, recs in sets.items()}
    base = {n: summary(v) for n, v in valid.items()}
    rows, best = [], None
    for values in itertools.product(*GRID.values()):
        g = dict(zip(GRID, values))
        s = {n: summary(gated(v, g)) for n, v in valid.items()}
        ok = all(within(s[n], base[n]) for n in s)
        key = (max(x['without unm'] for x in s.values()), sum(x['without unm'] for x in s.values()), sum(v != GATES_OFF[k] for k, v in g.items()))
        rows.append({'gates': g, 'qualifies': ok, **{n: {k: round(v, 1) for k, v in x.items()} for n, x in s.items()}})
        if ok and (best is None or key < best[0]): best = (key, g)
    chosen = best[1]
    settings = {f'no gate (`MIN_FACE` = {MIN_FACE}, the default)' if not MIN_FACE else 'no gate': {}, 'min_side 10 (the default chosen on mask-scenes-571 alone)': {'min_side': 10},
                f'best of the grid: {name_of(chosen)}': chosen}
    report = []
    for label, g in settings.items():
        for n in sets:
            for part, recs in (('valid', valid[n]), ('test', test[n])):
                report.append({'setting': label, 'set': n, 'photos': part, **{k: round(v, 1) for k, v in summary(gated(recs, g)).items()}})
    for r in report: print(json.dumps(r))
    print(f"chosen on valid photos of {', '.join(sets)}: {name_of(chosen)}; {sum(r['qualifies'] for r in rows)} of {len(rows)} settings within {DROP} point(s) on every set", file=sys.stderr)
    if a.json:
        from _record import Record
        at = {(r['setting'], r['set'], r['photos']): r for r in report}
        today, pick = list(settings)[1], list(settings)[2]
        none = list(settings)[0]
        cost = lambda lab, n, part: f"{at[(lab, n, part)]['with f+c'] - at[(none, n, part)]['with f+c']:+.1f} / {at[(lab, n, part)]['without f+c'] - at[(none, n, part)]['without f+c']:+.1f}"
        says = {n: (f"Against no gate, found and correct (with / without, points): `min_side 10` {cost(today, n, 'valid')}, the grid's best {cost(pick, n, 'valid')}; "
                    f"said `without_mask` and matching no face: {at[(none, n, 'valid')]['without unm']}% with no gate, {at[(today, n, 'valid')]['without unm']}% with `min_side 10`, {at[(pick, n, 'valid')]['without unm']}% with the grid's best.") for n in sets}
        tables = set_tables(report, sets, says)
        Record().write(a.json, chosen=chosen, drop=DROP, grid={k: list(v) for k, v in GRID.items()}, qualifying=sum(r['qualifies'] for r in rows),
                       settings=len(rows), ignored_detections=ignored, base_valid={n: {k: round(v, 1) for k, v in x.items()} for n, x in base.items()}, report=report, tables=tables)

if __name__ == '__main__': main()
