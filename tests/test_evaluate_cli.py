"mask-recog-evaluate --cam N, Grad-CAM maps and the per-source table, on a small real subset with an untrained model (mechanics, not accuracy)"
import json, shutil, subprocess
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
from conftest import console_script

SIDE, GAP, CAP, HEAD = 112, 8, 26, 20  # the Grad-CAM figure's layout in pixels: tile, gap, caption, band title (see plot_cam)

def cam_png_size(bands:int, cols:int=8)->tuple:
    "Pixel size of a cam.png with `bands` bands of one row of tiles each"
    return cols * (SIDE + GAP), bands * (HEAD + CAP + SIDE) + GAP

@pytest.fixture(scope='module')
def prepared(small_real_set, tmp_path_factory):
    "`small_real_set` (60 faces a class) prepared: its test split holds both classes"
    from mask_recog.data import prepare
    out = tmp_path_factory.mktemp('prep')/'faces'
    prepare(small_real_set, out, progress=False, workers=1)
    return out

@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    "An untrained resnet18 at 96 px (seeded), saved as model.safetensors + model.json (at 64 px its 2×2 maps can coincide)"
    import torch
    from mask_recog.model import build_model, save_model
    torch.manual_seed(0)
    return save_model(build_model('resnet18').eval(), {'arch': 'resnet18', 'size': 96}, tmp_path_factory.mktemp('m')/'model')

def test_cli_cam(prepared, model_dir, tmp_path):
    "`mask-recog-evaluate DATA --model MODEL --cam 2` writes cam.png (2 wrong + 2 correct, one band: one source) beside the usual files"
    from mask_recog.data import load_split
    cmd = console_script('mask-recog-evaluate', 'mask_recog.evaluate', 'evaluate_cli', tmp_path)
    r = subprocess.run([*cmd, str(prepared), '--model', str(model_dir), '--out', str(tmp_path/'ev'), '--cam', '2', '--device', 'cpu'],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    ev = tmp_path/'ev'
    for f in ['metrics.json', 'predictions.csv', 'confusion.png', 'roc.png', 'top_losses.png', 'cam.png']: assert (ev/f).is_file(), f
    assert Image.open(ev/'cam.png').size == cam_png_size(1)
    assert (ev/'cam.png').stat().st_size < 300_000
    m = json.loads((ev/'metrics.json').read_text())
    assert m['n'] == len(load_split(prepared, 'test'))
    bar = [l for l in r.stderr.splitlines() if l.startswith('images: ')]   # stderr is no terminal here: the first line and the last
    assert bar[0].startswith(f"images: 0.00% [0/{m['n']} ") and bar[-1].startswith(f"images: 100.00% [{m['n']}/{m['n']} "), r.stderr
    assert 'images: ' not in r.stdout                                      # stdout carries the results only
    # without --cam: no figure
    r = subprocess.run([*cmd, str(prepared), '--model', str(model_dir), '--out', str(tmp_path/'ev0'), '--device', 'cpu'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'ev0'/'metrics.json').is_file() and not (tmp_path/'ev0'/'cam.png').exists()

def test_cli_cam_negative(prepared, model_dir):
    "A negative --cam is refused before anything is scored, with a message saying what to give"
    from mask_recog.cli import evaluate_cli
    with pytest.raises(SystemExit, match='--cam -1: give the number'): evaluate_cli(str(prepared), model=str(model_dir), cam=-1)

def test_grad_cam_maps(prepared, model_dir):
    "Maps from the weights on the CPU, no Learner: finite, in [0, 1], the size of the input, different for two different faces"
    import torch
    from mask_recog.data import load_split
    from mask_recog.model import load_model, to_batch
    from mask_recog.evaluate import grad_cam, cam_layer
    model, meta = load_model(model_dir, 'cpu')
    rows = load_split(prepared, 'test')
    files = [rows.file[rows.label == c].iloc[0] for c in ['with_mask', 'without_mask']]  # two different faces
    x = to_batch([Image.open(f) for f in files], meta)
    cams = grad_cam(model, x)
    assert tuple(cams.shape) == (2, 96, 96)
    assert torch.isfinite(cams).all() and float(cams.min()) >= 0 and float(cams.max()) <= 1
    assert float(cams.max()) > 0
    assert float((cams[0] - cams[1]).abs().mean()) > 1e-3
    assert cam_layer(model) is model[0][-1]  # resnet18: the last stage of the body
    assert not any(p.grad is not None for p in model.parameters())  # the model's own gradients are left alone

def test_by_source(prepared, model_dir, tmp_path):
    "A manifest with a `source` column: metrics per source that add up to the whole, in metrics.json and the table; cam.png gets a band per source"
    from mask_recog.evaluate import evaluate, source_table
    d = tmp_path/'two'; d.mkdir()
    mf = pd.read_csv(prepared/'manifest.csv', keep_default_na=False, dtype=str)
    mf['source'] = np.where(np.arange(len(mf)) % 2 == 0, 'face-mask-4k', 'mask-scenes-571')
    mf.to_csv(d/'manifest.csv', index=False)
    shutil.copytree(prepared/'cache', d/'cache'); shutil.copy(prepared/'report.json', d/'report.json')
    res = evaluate(model_dir, d, tmp_path/'ev', device='cpu', cam=1)
    bs = res['by_source']
    test = mf[mf.split == 'test']
    assert {k: v['n'] for k, v in bs.items()} == test.source.value_counts().to_dict()
    assert sum(v['n'] for v in bs.values()) == res['n']
    errors = res['n'] - sum(res['confusion'][c][c] for c in res['confusion'])
    assert sum(v['errors'] for v in bs.values()) == errors
    for v in bs.values(): assert v['errors'] == round(v['n'] * (1 - v['accuracy'])) and 0 <= v['balanced_accuracy'] <= 1
    assert json.loads((tmp_path/'ev'/'metrics.json').read_text())['by_source'] == bs
    t = source_table(res)
    assert list(t.index) == [*bs, 'all'] and t.loc['all', 'n'] == res['n'] and t.loc['all', 'errors'] == errors
    assert Image.open(tmp_path/'ev'/'cam.png').size == cam_png_size(2)
    # a manifest from before sources (no `source` column): no by_source, predictions.csv as before
    mf.drop(columns='source').to_csv(d/'manifest.csv', index=False)
    r0 = evaluate(model_dir, d, tmp_path/'ev0', device='cpu')
    assert 'by_source' not in r0 and source_table(r0) is None and r0['n'] == res['n']
    assert list(pd.read_csv(tmp_path/'ev0'/'predictions.csv').columns) == ['path', 'label', 'pred', 'prob_with_mask', 'file']
