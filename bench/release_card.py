"""The released model's card: each candidate (PyTorch fp32, ONNX fp32, ONNX int8 of one trained model) scored on what
users meet, with its size in the wheel and its speed on this machine; writes the JSON that the model card page
(nbs/09a_model_card.ipynb) and the released model.json render. Every figure of the card comes from this file.

    mask-recog-export --model RUN/model --int8 --data RUN/data      # model.onnx and model.int8.onnx beside the weights
    python bench/release_card.py RUN/model --data RUN/data --scenes $MASK_RECOG_DATA/mask-scenes-571 --out card.json

Scored: each source's test split (crops), the held-out crops of the training scene source (face-mask-853: photos in
prepare's valid and test splits, split by photo groups), end to end (the default detectors, then the classifier; IoU 0.3
and 0.5) on those held-out photos, and end to end on mask-scenes-571, which no candidate trained on: its valid + test
photos (the README's CPU recipe trained on its train photos) and all 571."""
import argparse, json, os, platform, sys, time, zlib, datetime
from pathlib import Path
import numpy as np, pandas as pd

p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
p.add_argument('model_dir', help='a trained model folder with model.onnx and model.int8.onnx exported (mask-recog-export --int8)')
p.add_argument('--data', required=True, help='the prepared folder it trained on (mask-recog-prepare)')
p.add_argument('--scenes', help='a labelled scene set it never trained on, scored end to end (e.g. mask-scenes-571)')
p.add_argument('--command', default='', help='the command that trained the model, recorded in the card')
p.add_argument('--speed-crops', type=int, default=256, help='face crops timed per candidate')
p.add_argument('--out', required=True, help='the JSON file to write')
p.add_argument('--release', help='also write the released model folder here: model.json (with the card), the chosen file, card.json')
p.add_argument('--choose', default='ONNX int8', help='the candidate released with --release')
a = p.parse_args()

from mask_recog.core import CLASSES, save_json, sha256_file
from mask_recog.data import load_split
from mask_recog.metrics import binary_metrics
from mask_recog.evaluate import held_out_scenes
from mask_recog.inference import Classifier, ONNX_FILE, INT8_FILE
from mask_recog.model import WEIGHTS_FILE, read_meta
from mask_recog.detectors import load_detector
from mask_recog.detect import evaluate_detection, score_detections, photo_split
from mask_recog.inference import as_rgb
from mask_recog.scorecard import Remembered, scene_root
from mask_recog.train import versions

model, data = Path(a.model_dir), Path(a.data)
meta = read_meta(model)
CANDIDATES = {'PyTorch fp32': (WEIGHTS_FILE, dict(backend='torch', precision='fp32')),
              'ONNX fp32': (ONNX_FILE, dict(backend='onnx')),
              'ONNX int8': (INT8_FILE, dict(backend='onnx', int8=True))}

def size_of(f:Path)->dict:
    "Bytes on disk and as the wheel's zip stores them (deflate)"
    b = f.read_bytes()
    return dict(bytes=len(b), zipped_bytes=len(zlib.compress(b, 6)))

def pct(v): return None if v is None else round(100 * float(v), 2)

# rows scored on crops: each source's test split, and the held-out crops of the scene source
test = load_split(data, 'test')
sets = {f'{s} test': test[test.source == s] for s in pd.unique(test.source)}
held = held_out_scenes(data)
for s in pd.unique(held.source): sets[f'{s} held-out crops'] = held[held.source == s]
files = list(pd.unique(pd.concat([r.file for r in sets.values()])))

# photos scored end to end: the scene source's held-out photos (prepare's split), and the never-seen scene set
det = Remembered(load_detector(log=lambda m: None))  # each photo is searched once for all candidates
scene_src = scene_root(data)
held_paths = set(held.path) if 'path' in held else set()
e2e_sets = {}
t0 = time.perf_counter()

rep = json.loads((data/'report.json').read_text())
card = dict(model=model.name, arch=meta['arch'], size=meta['size'], threshold=meta['threshold'], classes=meta['classes'],
            data=dict(prepared=data.name, rows=rep['rows'], sources={k: dict(rows=v['rows'], splits=v['splits']) for k, v in rep.get('sources', {}).items()}),
            command=a.command, machine=dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(), python=platform.python_version()),
            date=datetime.date.today().isoformat(), versions=versions(), candidates={})
try:
    import cpuinfo  # optional; the platform module names no CPU model on Linux
    card['machine']['cpu'] = cpuinfo.get_cpu_info().get('brand_raw', card['machine']['cpu'])
except ImportError:
    for l in open('/proc/cpuinfo', encoding='utf-8', errors='replace') if Path('/proc/cpuinfo').exists() else []:
        if l.startswith('model name'): card['machine']['cpu'] = l.split(':', 1)[1].strip(); break

for name, (fname, kw) in CANDIDATES.items():
    f = model/fname
    if not f.exists(): print(f'{name}: {f} missing, skipped (export it: mask-recog-export --model {model} --int8 --data {data})', file=sys.stderr); continue
    clf = Classifier(model, device='cpu', **kw)
    c = dict(file=fname, **size_of(f))
    # crops
    res = clf.predict(files)
    prob = {o['item']: o['prob_with_mask'] for o in res}
    c['crops'] = {}
    for sname, rows in sets.items():
        pw, y = np.array([prob[f] for f in rows.file]), np.array([CLASSES.index(l) for l in rows.label])
        m = binary_metrics(pw, y, clf.threshold)
        c['crops'][sname] = dict(n=int(len(rows)), balanced_accuracy=pct(m['balanced_accuracy']), accuracy=pct(m['accuracy']),
                                 recall={k: pct(v) for k, v in m['recall'].items()})
    # end to end
    c['e2e'] = {}
    if scene_src is not None:
        r = evaluate_detection(scene_src, det, clf)
        held_recs = [x for x in r['records'] if x['path'] in held_paths]
        c['e2e'][f'{scene_src.name} held-out photos'] = dict(photos=len(held_recs), scores=score_detections(held_recs, (0.5, 0.3)))
    if a.scenes:
        r = evaluate_detection(a.scenes, det, clf)
        vt = [x for x in r['records'] if photo_split(x['path']) in ('valid', 'test')]
        c['e2e'][f'{Path(a.scenes).name} valid + test photos'] = dict(photos=len(vt), scores=score_detections(vt, (0.5, 0.3)))
        c['e2e'][f'{Path(a.scenes).name} all photos'] = dict(photos=len(r['records']), scores=score_detections(r['records'], (0.5, 0.3)))
    for k, v in c['e2e'].items():  # percentages: found and found-and-correct per class, and per said label the share matching no labelled face
        v['scores'] = {str(t): {**{cl: dict(faces=s[cl]['faces'], found=pct(s[cl]['found']), found_correct=pct(s[cl]['found_correct'])) for cl in CLASSES},
                                'said_unmatched': {cl: dict(detections=s['alerts'][cl]['detections'], unmatched=pct(s['alerts'][cl]['unmatched'])) for cl in CLASSES}}
                       for t, s in v['scores'].items()}
    # speed: face crops per second through the classifier alone, on this machine's CPU
    ims = [as_rgb(f) for f in files[:a.speed_crops]]
    clf.probs(ims[:64])  # warm-up
    t = time.perf_counter(); clf.probs(ims); dt = time.perf_counter() - t
    c['speed'] = dict(crops=len(ims), seconds=round(dt, 3), crops_per_s=round(len(ims) / dt, 1), threads=__import__('torch').get_num_threads())
    card['candidates'][name] = c
    print(f"{name}: {c['bytes'] / 2**20:.1f} MB ({c['zipped_bytes'] / 2**20:.1f} MB zipped), {c['speed']['crops_per_s']} crops/s; "
          + '; '.join(f"{k} {v['balanced_accuracy']}" for k, v in c['crops'].items()), flush=True)
    for k, v in c['e2e'].items():
        s = v['scores']['0.3']
        print(f"   e2e {k} ({v['photos']} photos) @0.3 found+correct: " + ' / '.join(str(s[cl]['found_correct']) for cl in CLASSES), flush=True)

card['seconds'] = round(time.perf_counter() - t0, 1)
save_json(card, a.out)
print(f'wrote {a.out}')
if a.release:  # the released folder: what `load_classifier(None)` loads, the card beside it
    import shutil
    rel, c = Path(a.release), card['candidates'][a.choose]
    rel.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model/c['file'], rel/c['file'])
    summary = dict(candidate=a.choose, command=a.command, date=card['date'], machine=card['machine'],
                   data='face-mask-4k (MIT, github.com/chandrikadeb7/Face-Mask-Detection) + face-mask-853 (CC0, kaggle andrewmvd/face-mask-detection)',
                   crops=c['crops'], e2e={k: {'photos': v['photos'], 'found_correct@0.3': {cl: v['scores']['0.3'][cl]['found_correct'] for cl in CLASSES}} for k, v in c['e2e'].items()},
                   speed=c['speed'], not_for='identity; certified compliance; a mask under the nose (two classes); faces under 10 px')
    m = {k: v for k, v in meta.items() if k not in ('data', 'manifest_sha256_path')} | {'card': summary}
    save_json(m, rel/'model.json'); save_json(card, rel/'card.json')
    print(f'released {a.choose} into {rel}')
