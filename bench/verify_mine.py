"""One detection pass over mask-scenes-571 for issue 14's gates and verifier: every fused detection of the default detector
(YuNet + the masked-face SSD, tiled), tagged with which detector (and whether a tile) produced it, classified, with a small
crop of it; plus the labelled faces' crops and random non-face patches (train photos).

    OMP_NUM_THREADS=1 python bench/verify_mine.py SCENES CLASSIFIER OUT.npz --splits valid,test   # step 7d's measurement; --loose adds looser detectors' negatives

OUT.npz holds `records` (JSON text: per photo its path, split, shape, truth, and faces as `detect` gives them, plus `src`:
best score per source yunet / ssd / tile, and `crop`: the row of its crop) and `crops` (n, VERIFY_SIZE, VERIFY_SIZE, 3) RGB uint8,
`crop_kind` (0 detection, 1 labelled face, 2 random patch, 3 with --loose: a looser detector's unmatched detection), `crop_photo` (record index)."""
import sys, json, time, argparse
from pathlib import Path
import numpy as np, cv2
from mask_recog.preprocess import crop_box, CROP_MARGIN
from mask_recog.detectors import read_bgr, YuNet, UltraFace, Tiled, fuse_detections, box_iou, no_faces
from mask_recog.detect import scan_scenes, photo_split, face_box, detect, load_classifier
from mask_recog.verify import fit_crop, VERIFY_SIZE

def tagged_fuse(dets, tags, iou=0.3):
    "`fuse_detections` that also gives, per fused row, the best score of each source tag (0 YuNet, 1 SSD on the frame, 2 SSD on a tile)"
    d = np.concatenate([no_faces()] + [np.asarray(x, np.float32).reshape(-1, 15) for x in dets])
    t = np.concatenate([np.zeros(0, int)] + [np.full(len(x), k) for x, k in zip(dets, tags)])
    o = np.argsort(-d[:, 14], kind='stable'); d, t = d[o], t[o]
    m, used, src = box_iou(d[:, :4], d[:, :4]), np.zeros(len(d), bool), []
    for i in range(len(d)):
        if used[i]: continue
        g = np.nonzero((m[i] >= iou) & ~used)[0]; used[g] = True
        src.append([float(d[g][t[g] == k, 14].max()) if (t[g] == k).any() else 0. for k in range(3)])
    return np.array(src).reshape(-1, 3)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scenes'); ap.add_argument('classifier'); ap.add_argument('out')
    ap.add_argument('--splits', default='train,valid,test'); ap.add_argument('--patches', type=int, default=6)
    ap.add_argument('--loose', action='store_true', help='train photos: also mine the detections of looser detectors (YuNet >= 0.3, SSD >= 0.15) that overlap no labelled face (kind 3)')
    a = ap.parse_args()
    scenes, splits = Path(a.scenes), a.splits.split(',')
    items, _ = scan_scenes(scenes)
    by = {}
    for it in items:
        if photo_split(it['path']) in splits: by.setdefault(it['path'], []).append(it)
    yn, ssd = YuNet(), UltraFace(nms=0)
    tiler = Tiled(ssd, 1.5)
    clf = load_classifier(a.classifier)
    loose = Tiled(UltraFace(score=.15, nms=.3), 1.5), YuNet(score=.3)
    rng = np.random.default_rng(0)
    recs, crops, kinds, owner = [], [], [], []
    t0 = time.time()
    for n, (p, its) in enumerate(sorted(by.items())):
        frame = read_bgr(scenes/p); h, w = frame.shape[:2]
        truth = [(it['label'], face_box(it['box'], w, h)) for it in its]
        parts, tags = [yn(frame), ssd(frame)], [0, 1]
        for x0, y0, x1, y1 in tiler.tiles(h, w):
            d = np.asarray(ssd(np.ascontiguousarray(frame[y0:y1, x0:x1])), np.float32).reshape(-1, 15).copy()
            d[:, [0, 4, 6, 8, 10, 12]] += x0; d[:, [1, 5, 7, 9, 11, 13]] += y0
            parts.append(d); tags.append(2)
        fused = fuse_detections(parts)
        src = tagged_fuse(parts, tags)
        assert np.allclose(fused[:, 14], src.max(1)), p
        # `_detections`' filter: finite boxes, not empty once rounded and clipped (same order)
        ok = np.isfinite(fused[:, :4]).all(1)
        f2, s2 = fused[ok], src[ok]
        x0, y0 = np.clip(np.round(f2[:, 0]), 0, w), np.clip(np.round(f2[:, 1]), 0, h)
        x1, y1 = np.clip(np.round(f2[:, 0] + f2[:, 2]), 0, w), np.clip(np.round(f2[:, 1] + f2[:, 3]), 0, h)
        s2 = s2[(x1 > x0) & (y1 > y0)]
        faces = detect(frame, lambda fr: fused, clf)
        assert len(faces) == len(s2), p
        rgb = frame[..., ::-1]
        def add(box, kind):
            x0, y0, x1, y1 = crop_box(('xywh', *map(float, box)), w, h, CROP_MARGIN)
            crops.append(fit_crop(np.ascontiguousarray(rgb[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]))); kinds.append(kind); owner.append(len(recs))
            return len(crops) - 1
        for f, s in zip(faces, s2): f['src'] = dict(zip(('yunet', 'ssd', 'tile'), map(float, s))); f['crop'] = add(f['box'], 0)
        sp = photo_split(p)
        lab = [add(b, 1) for _, b in truth]
        pat = []
        tb = np.array([b for _, b in truth], float).reshape(-1, 4)
        if sp == 'train':
            tb = np.array([b for _, b in truth], float).reshape(-1, 4)
            sides = tb[:, 2:].mean(1) if len(tb) else np.array([min(h, w) / 8])
            tries = 0
            while len(pat) < a.patches and tries < 200:
                tries += 1
                s = float(np.clip(rng.choice(sides) * rng.uniform(.5, 2), 12, min(h, w) - 1))
                b = [rng.uniform(0, w - s), rng.uniform(0, h - s), s, s * rng.uniform(.9, 1.3)]
                if len(tb) and box_iou([b], tb).max() >= 0.1: continue
                pat.append(b); add(b, 2)
        extra = []
        if sp == 'train' and a.loose:
            ld = fuse_detections([loose[1](frame), loose[0](frame)])
            ld = ld[np.isfinite(ld[:, :4]).all(1) & (ld[:, 2] >= 6) & (ld[:, 3] >= 6)]
            fb = np.array([f['box'] for f in faces], float).reshape(-1, 4)
            for row in ld:
                b = row[:4].tolist()
                if (len(tb) and box_iou([b], tb).max() >= 0.1) or (len(fb) and box_iou([b], fb).max() >= 0.3): continue
                extra.append({'box': [round(v) for v in b], 'score': float(row[14]), 'landmarks': bool(np.isfinite(row[4:14]).all()), 'crop': add(b, 3)})
        recs.append({'path': p, 'extra': extra, 'split': sp, 'shape': [h, w], 'truth': truth, 'faces': faces, 'labelled_crops': lab, 'patches': pat})
        if n % 20 == 0: print(f'{n}/{len(by)} photos, {len(crops)} crops, {time.time() - t0:.0f} s', file=sys.stderr, flush=True)
    np.savez_compressed(a.out, records=json.dumps(recs), crops=np.stack(crops), crop_kind=np.array(kinds), crop_photo=np.array(owner))
    print(f'wrote {a.out}: {len(recs)} photos, {sum(len(r["faces"]) for r in recs)} detections, {len(crops)} crops in {time.time() - t0:.0f} s', file=sys.stderr)

if __name__ == '__main__': main()
