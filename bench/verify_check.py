"""A saved verifier (e.g. `mask-recog-verifier SCENES --out DIR`) scored on held-out photos, beside the default: the unmatched
share of each label's detections and found-and-correct per class (IoU 0.3), on valid + test and on test alone.
Reads `bench/verify_mine.py`'s held-out pass (its detections, labels and crops):

    python bench/verify_mine.py SCENES CLASSIFIER mine_held.npz --splits valid,test
    python bench/verify_check.py mine_held.npz DIR
"""
import sys, argparse
from pathlib import Path
import numpy as np, pandas as pd
sys.path.insert(0, str(Path(__file__).parent))
from verify_measure import load, filt, gated, summary
from mask_recog.verify import load_verifier

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('held'); ap.add_argument('verifier'); ap.add_argument('--min-face', type=int, default=10)
    a = ap.parse_args()
    held, crops, _ = load(a.held)
    ver = load_verifier(a.verifier)
    p = ver(list(crops))
    for r in held:
        for f in r['faces']: f['prob_face'] = float(p[f['crop']])
    settings = {'default': lambda rr: rr, f'min_face {a.min_face}': lambda rr: gated(rr, {'min_side': a.min_face}),
                f'min_face {a.min_face} + verifier ≥ {ver.threshold:.2f}': lambda rr: filt(gated(rr, {'min_side': a.min_face}), lambda f: f['prob_face'] >= ver.threshold)}
    rows = [{'photos': part, 'setting': name, **{k: round(v, 1) for k, v in summary(fn(recs)).items()}}
            for part, recs in (('valid+test', held), ('test', [r for r in held if r['split'] == 'test'])) for name, fn in settings.items()]
    pd.set_option('display.width', 250); pd.set_option('display.max_columns', 20)
    print(f'{a.verifier}: {ver}, {ver.meta.get("checked_on")}')
    print(pd.DataFrame(rows).to_string(index=False))

if __name__ == '__main__': main()
