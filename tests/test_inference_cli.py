"The `mask-recog-predict` and `mask-recog-export` commands, run as a user runs them: separate processes, real images, a bad file."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import console_script

def run(cmd, *args):
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=300)

def lines(out): return [json.loads(l) for l in out.splitlines() if l.strip()]

@pytest.fixture(scope='module')
def env(small_real_set, tmp_path_factory):
    "An untrained model (mechanics only), a few real images, a bad file, and the two commands"
    from mask_recog.model import build_model, save_model
    tmp = tmp_path_factory.mktemp('infer')
    save_model(build_model('resnet18').eval(), {'arch': 'resnet18', 'size': 64}, tmp/'model')
    imgs = tmp/'imgs'; (imgs/'sub').mkdir(parents=True)
    real = sorted((small_real_set/'with_mask').iterdir())[:2] + sorted((small_real_set/'without_mask').iterdir())[:2]
    for i, f in enumerate(real): shutil.copy(f, imgs/('sub' if i % 2 else '.')/f'face {i}{f.suffix}')
    (imgs/'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 this is not really a jpeg')
    return dict(tmp=tmp, model=tmp/'model', imgs=imgs, real=real, predict=console_script('mask-recog-predict', 'mask_recog.inference', 'predict_cli', tmp),
                export=console_script('mask-recog-export', 'mask_recog.inference', 'export_cli', tmp))

def test_predict(env):
    imgs = env['imgs']
    r = run(env['predict'], '--model', env['model'], imgs, imgs/'missing.jpg', imgs/'*.gif')
    assert r.returncode == 1 and '3 of 7 inputs could not be classified' in r.stderr, r.stderr  # any failed input: exit status 1
    out = {o['path']: o for o in lines(r.stdout)}
    names = ['broken.jpg'] + [f"{'sub/' if i % 2 else ''}face {i}{f.suffix}" for i, f in enumerate(env['real'])]
    assert sorted(out) == sorted([str(imgs/n) for n in names] + [str(imgs/'missing.jpg'), str(imgs/'*.gif')])
    bad = out[str(imgs/'broken.jpg')]
    assert set(bad) == {'path', 'error'} and ('cannot decode' in bad['error'] or 'not an image' in bad['error'])
    assert out[str(imgs/'missing.jpg')]['error'] == 'no such file or folder' and out[str(imgs/'*.gif')]['error'] == 'no file matches'
    good = [o for o in out.values() if 'error' not in o]
    assert len(good) == 4
    for o in good:
        assert set(o) == {'path', 'label', 'prob_with_mask'} and o['label'] in ('with_mask', 'without_mask')
        assert 0 <= o['prob_with_mask'] <= 1 and (o['label'] == 'with_mask') == (o['prob_with_mask'] >= .5)
    env['torch'] = {o['path']: o['prob_with_mask'] for o in good}

def test_nothing_readable(env):
    r = run(env['predict'], '--model', env['model'], env['imgs']/'broken.jpg', env['imgs']/'nope')
    assert r.returncode != 0 and len(lines(r.stdout)) == 2 and all('error' in o for o in lines(r.stdout))
    assert 'no image could be classified' in r.stderr and 'Traceback' not in r.stderr

def test_clear_errors(env):
    "Errors before any image is read end the command with a one-line message (checked in-process: each process costs seconds of imports)"
    from mask_recog.cli import predict_cli, export_cli
    with pytest.raises(SystemExit, match='no such model folder'): predict_cli(str(env['imgs']), model=str(env['tmp']/'no-model'))
    with pytest.raises(SystemExit, match='no INPUT given'): predict_cli(model=str(env['model']))
    with pytest.raises(SystemExit, match="'fp16' needs device='cuda'"): predict_cli(str(env['imgs']), model=str(env['model']), backend='torch', precision='fp16', device='cpu')
    with pytest.raises(SystemExit, match='name the trained model folder with --model'): export_cli()
    with pytest.raises(SystemExit, match='int8 needs data'): export_cli(model=str(env['model']), int8=True)

def test_export_int8_and_predict(env, small_real_set, capsys):
    from mask_recog.data import prepare
    prep = env['tmp']/'prepared'
    prepare(small_real_set, prep, progress=False)
    r = run(env['export'], '--model', env['model'], '--int8', '--data', prep)
    assert r.returncode == 0, r.stderr
    assert 'model.onnx' in r.stdout and 'model.int8.onnx' in r.stdout and 'test accuracy fp32' in r.stdout
    rep = json.loads((env['model']/'export.json').read_text())
    assert rep['parity_max_abs_diff'] < 1e-3 and rep['opset'] >= 17 and rep['test_images'] > 0
    assert {'accuracy_fp32', 'accuracy_int8', 'accuracy_change', 'label_agreement'} <= set(rep)
    # the exported files serve the command (in-process here: another process would cost seconds of imports)
    from mask_recog.cli import predict_cli
    from mask_recog.inference import Classifier
    assert predict_cli(str(env['imgs']), model=str(env['model']), backend='onnx', int8=True) == 1  # imgs holds broken.jpg
    out = lines(capsys.readouterr().out)
    good = [o for o in out if 'error' not in o]
    assert len(good) == 4 and len(out) == 5
    if 'torch' in env:  # int8 is close to, not equal to, fp32
        for o in good: assert abs(o['prob_with_mask'] - env['torch'][o['path']]) < .2
    pt, ox = Classifier(env['model']), Classifier(env['model'], 'onnx')  # fp32 ONNX matches PyTorch on these real images
    files = [o['path'] for o in good]
    assert max(abs(a['prob_with_mask'] - b['prob_with_mask']) for a, b in zip(pt.predict(files), ox.predict(files))) < 1e-3

def test_precision(env, capsys):
    "`--precision fp32` prints exactly PyTorch fp32's probabilities; bf16 stays within the bound its precision gives (`bf16_prob_bound`), on any CPU's kernels"
    from mask_recog.cli import predict_cli
    from mask_recog.inference import Classifier, bf16_prob_bound, as_rgb
    out = {}
    for prec in ['fp32', 'bf16']:
        assert predict_cli(str(env['imgs']), model=str(env['model']), backend='torch', precision=prec, device='cpu') == 1  # imgs holds broken.jpg
        out[prec] = {o['path']: o['prob_with_mask'] for o in lines(capsys.readouterr().out) if 'error' not in o}
    clf, files = Classifier(env['model'], device='cpu'), sorted(out['fp32'])
    ref = {o['item']: o['prob_with_mask'] for o in clf.predict(files)}
    assert len(ref) == 4 and all(abs(out['fp32'][k] - v) < 1e-6 for k, v in ref.items())
    bound = dict(zip(files, bf16_prob_bound(clf, [as_rgb(f) for f in files])))
    assert all(abs(out['bf16'][k] - v) <= bound[k] + 1e-6 for k, v in ref.items()), (out['bf16'], ref, bound)
