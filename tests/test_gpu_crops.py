"Faces cut on the device (`Classifier.classify_boxes`, forced onto the CPU here) against today's host path, on real scene frames; and the GPU bench's smoke run."
import os, subprocess, sys
from pathlib import Path
import numpy as np, cv2, pytest
from conftest import is_full

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='module')
def model(tmp_path_factory):
    "A trained model when the developers' one is here (the parity is then measured where it matters), else an untrained one"
    dev = ROOT/'runs'/'cpu-resnet18-96'/'model'
    if (dev/'model.json').exists(): return dev
    from support import untrained_model
    return untrained_model(tmp_path_factory.mktemp('model')/'untrained')

@pytest.fixture(scope='module')
def frames(scenes):
    "Up to 40 real scene photos (BGR, as OpenCV reads them) and their labelled faces as x, y, w, h boxes"
    from mask_recog.data import scan_yolo
    items = scan_yolo(scenes)[0]
    paths = sorted({o['path'] for o in items}); paths = paths[::max(1, len(paths) // 40)]
    fs = [cv2.imread(str(scenes/p)) for p in paths]
    def xywh(b, f): cx, cy, w, h = b[1:]; H, W = f.shape[:2]; return [(cx - w / 2) * W, (cy - h / 2) * H, w * W, h * H]
    return fs, [np.array([xywh(o['box'], f) for o in items if o['path'] == p]).reshape(-1, 4) for p, f in zip(paths, fs)]

def test_parity(model, frames, scenes):
    from mask_recog.inference import Classifier
    from mask_recog.preprocess import face_crops
    clf = Classifier(model, device='cpu')
    fs, bs = frames
    fs, bs = fs + [fs[0][:50, :70].copy()], bs + [np.array([[-10, -10, 40, 40], [60, 40, 30, 30], [0, 0, 500, 500], [20, 20, 1, 1]])]  # border, past it, larger than the frame, tiny
    host = clf.classify_crops([c for f, b in zip(fs, bs) for c in face_crops(f, b)])
    assert np.array_equal(clf.classify_boxes(fs, bs), host)  # the default on a CPU: today's path, byte for byte
    dev = clf.classify_boxes(fs, bs, on_device=True)
    d = np.abs(dev - host)
    print(f'{len(fs)} frames, {len(host)} faces: max |Δprob| {d.max():.5f}, labels agree on {np.mean((dev >= clf.threshold) == (host >= clf.threshold)):.1%}')
    assert len(host) >= (40 if is_full(scenes) else 20) and d.max() < 5e-3   # labels may differ only within that of the threshold

def test_bench_smoke(model, scenes):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MASK_RECOG_SCENES': str(scenes)}
    r = subprocess.run([sys.executable, str(ROOT/'bench'/'gpu_faces.py'), str(model), '--frames', '4', '--per-call', '2'],
                       capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    import torch
    if not torch.cuda.is_available(): assert 'no CUDA device here' in r.stdout
    assert "today's path (host crops):" in r.stdout and 'classify_boxes (on the device):' in r.stdout and 'ratio device / host' in r.stdout, r.stdout
    delta = float(r.stdout.split('max |Δprob| between them ')[1].split()[0])
    assert delta < 5e-3, r.stdout
