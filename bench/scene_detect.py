"""Faces in whole scenes: how many labelled faces each detector finds, and finds *and* the classifier labels correctly, per class
and IoU threshold, with the share of each said label's detections that match no labelled face, on every scene set given.

    python bench/scene_detect.py [SCENES ...] [--model DIR] [--out bench/results/scene_detect.json]

SCENES: labelled scene sets, YOLO or PASCAL VOC (default: $MASK_RECOG_DATA/mask-scenes-571 and $MASK_RECOG_DATA/face-mask-853).
The classifier is the released model unless `--model` names a folder. Detectors, from $MASK_RECOG_MODELS:
YuNet at OpenCV's default score (0.9) and at 0.6, the masked-face SSD alone, both fused without tiles, the default
(`load_detector()`: fused, the SSD also on tiles of large photos), and the default with its boxes calibrated the way the
set draws them (`crossfit_calibration`: 5 folds over groups of near-copies, so no photo is calibrated on itself).
"""
import os, sys, argparse
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _record import Record, table

p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('scenes', nargs='*', help='labelled scene sets (default: mask-scenes-571 and face-mask-853 of $MASK_RECOG_DATA)')
p.add_argument('--model', help='classifier model folder (default: the released model)')
p.add_argument('--iou', default='0.5,0.3', help='IoU thresholds (default: 0.5,0.3)')
p.add_argument('--out', help='write the figures here as JSON (the Results page renders its tables from it)')
a = p.parse_args()
data = os.environ.get('MASK_RECOG_DATA')
sets = [Path(s) for s in a.scenes] or ([Path(data)/n for n in ('mask-scenes-571', 'face-mask-853')] if data else [])
if not sets or not all(s.is_dir() for s in sets): sys.exit(f'scene sets not found ({", ".join(map(str, sets)) or "none given"}): pass them or set MASK_RECOG_DATA')
if not os.environ.get('MASK_RECOG_MODELS'): sys.exit('set MASK_RECOG_MODELS to the folder holding the detector models')
rec = Record()
from mask_recog.core import CLASSES
from mask_recog.detectors import YuNet, UltraFace, Fused, load_detector
from mask_recog.detect import load_classifier, evaluate_detection, score_detections, crossfit_calibration, photo_groups

ious = tuple(float(x) for x in a.iou.split(','))
clf = load_classifier(a.model)
DETECTORS = {'YuNet, score ≥ 0.9 (OpenCV\'s default)': lambda: YuNet(score=.9), 'YuNet, score ≥ 0.6': lambda: YuNet(score=.6),
             'masked-face SSD alone, score ≥ 0.3': lambda: UltraFace(), 'YuNet + masked-face SSD, no tiles': lambda: load_detector(tile_above=0),
             '**the default** (`load_detector()`: YuNet + SSD, tiled on large photos)': load_detector}
DEFAULT = next(n for n in DETECTORS if n.startswith('**the default**'))
CALIBRATED = 'the default, boxes calibrated (5-fold cross-fit over groups of near-copies)'
pct = lambda v: None if v is None else round(100 * v, 1)

def rows_of(scores:dict)->dict:
    "Per IoU threshold: found and found-and-correct per class, unmatched share per said label, in %"
    return {str(t): {**{c: dict(faces=s[c]['faces'], found=pct(s[c]['found']), found_correct=pct(s[c]['found_correct'])) for c in CLASSES},
                     'said_unmatched': {c: dict(detections=v['detections'], unmatched=pct(v['unmatched'])) for c, v in (s['alerts'] or {}).items()}}
            for t, s in scores.items()}

results, tables = {}, []
for scenes in sets:
    res = {}
    for name, make in DETECTORS.items():
        r = evaluate_detection(scenes, make(), clf, iou=ious)
        res[name] = dict(photos=r['images'], seconds=r['seconds'], scores=rows_of(r['scores']))
        print(f"{scenes.name}: {name}: {r['images']} photos in {r['seconds']} s", flush=True)
        if name == DEFAULT: default_records = r['records']
    cal = crossfit_calibration(default_records, photo_groups(scenes))
    res[CALIBRATED] = dict(photos=len(cal), seconds=None, scores=rows_of(score_detections(cal, ious)))
    results[scenes.name] = res
    first = next(iter(res.values()))['scores'][str(ious[0])]
    cells = [[name if k == 0 else '', t] + [x for c in CLASSES for x in (v['scores'][str(t)][c]['found'], v['scores'][str(t)][c]['found_correct'])]
             + [v['scores'][str(t)]['said_unmatched'].get(c, {}).get('unmatched') for c in CLASSES] for name, v in res.items() for k, t in enumerate(ious)]
    d = res[DEFAULT]['scores'][str(min(ious))]
    says = (f"The default detector at IoU ≥ {min(ious):g}: " + ', '.join(f"{c} {d[c]['found']}% found, {d[c]['found_correct']}% found and correct" for c in CLASSES)
            + '; ' + ', '.join(f"{d['said_unmatched'][c]['unmatched']}% of the {d['said_unmatched'][c]['detections']} said {c}" for c in CLASSES if c in d['said_unmatched'])
            + ' match no labelled face.')
    tables.append(table(f"{scenes.name}: {next(iter(res.values()))['photos']} photos, " + ', '.join(f"{first[c]['faces']} {c}" for c in CLASSES) + ' labelled faces; shares in %',
                        ['detector', 'IoU ≥'] + [f'{c}: {w}' for c in CLASSES for w in ('found', 'found + correct')] + [f'said {c}: unmatched' for c in CLASSES], cells, says))
rec.write(a.out, sets=[s.name for s in sets], classifier=repr(clf), model=a.model and Path(a.model).name or 'the released model', iou=ious, results=results, tables=tables)
