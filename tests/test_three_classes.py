"Issue 27: a three-class run on real photos of face-mask-853 (its `mask_weared_incorrect` faces become `mask_incorrect`): prepare → train → evaluate → predict → detect → events"
import os, json, shutil
from pathlib import Path
import numpy as np, pytest
from mask_recog.core import CLASS_ORDER, QUICK_RECIPE
from mask_recog.data import prepare, scan_voc, load_split, data_classes
from mask_recog.train import train
from mask_recog.evaluate import evaluate
from mask_recog.inference import Classifier
from mask_recog.detectors import read_bgr
from mask_recog.detect import load_classifier, detect
from mask_recog.track import Tracker

SET = Path(os.environ['MASK_RECOG_DATA'])/'face-mask-853' if os.environ.get('MASK_RECOG_DATA') else None
pytestmark = [pytest.mark.data_mode,
              pytest.mark.skipif(SET is None or not SET.is_dir(), reason='needs face-mask-853: set MASK_RECOG_DATA to the folder that holds it')]
N_PHOTOS = 48  # the first photos (by name) that hold a `mask_weared_incorrect` face, and their other faces

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A subset of face-mask-853 as Kaggle lays it out, prepared and trained on with the quick recipe"
    tmp = tmp_path_factory.mktemp('three')
    items, _ = scan_voc(SET)
    photos = sorted({it['path'] for it in items if it['label'] == 'mask_incorrect'})[:N_PHOTOS]
    src = tmp/'src'
    for p in photos:
        for f in (SET/p, SET/'annotations'/(Path(p).stem + '.xml')):
            (src/f.relative_to(SET)).parent.mkdir(parents=True, exist_ok=True); shutil.copy(f, src/f.relative_to(SET))
    prepare(src, tmp/'prep', progress=False, workers=1)
    res = train(tmp/'prep', tmp/'model', **{**QUICK_RECIPE, 'epochs': 4})
    return dict(photos=photos, src=src, prep=tmp/'prep', model=tmp/'model', res=res)

def test_classes_from_the_data(run):
    assert data_classes(run['prep']) == CLASS_ORDER
    meta = json.loads((run['model']/'model.json').read_text())
    assert meta['classes'] == list(CLASS_ORDER)
    conf = run['res']['valid']['at_threshold']['confusion']
    assert list(conf) == list(CLASS_ORDER) and all(list(r) == list(CLASS_ORDER) for r in conf.values())
    n_valid = (load_split(run['prep'], 'valid').label.isin(CLASS_ORDER)).sum()
    assert sum(sum(r.values()) for r in conf.values()) == min(n_valid, run['res']['meta']['n_valid'])

def test_evaluate_three_by_three(run):
    res = evaluate(run['model'], run['prep'], out=run['model']/'eval', split='valid')
    assert list(res['confusion']) == list(CLASS_ORDER) and res['rule'] == 'argmax'
    assert set(res['recall']) == set(CLASS_ORDER) and 0 <= res['balanced_accuracy'] <= 1
    assert (run['model']/'eval'/'confusion.png').stat().st_size > 0
    pred = (run['model']/'eval'/'predictions.csv').read_text().splitlines()[0].split(',')
    assert [c for c in pred if c.startswith('prob_')] == [f'prob_{c}' for c in CLASS_ORDER]

def test_predict_detect_events(run):
    clf = Classifier(run['model'])
    rows = load_split(run['prep'], 'valid')[:8]
    for o in clf.predict(list(rows.file)):
        assert list(o['probs']) == list(CLASS_ORDER) and o['label'] == max(o['probs'], key=o['probs'].get)
    from mask_recog.detectors import load_detector
    det, c = load_detector(), load_classifier(run['model'])
    frame = read_bgr(run['src']/run['photos'][0])
    faces = detect(frame, det, c)
    assert faces and all(f['label'] in CLASS_ORDER and set(f['probs']) == set(CLASS_ORDER) for f in faces)
    tk = Tracker(min_frames=1)
    ev = [e for i in range(2) for e in tk.update([dict(f) for f in faces], i)] + tk.finish()
    assert [e['event'] for e in ev].count('started') == len(faces) and all(e['label'] in CLASS_ORDER for e in ev)
