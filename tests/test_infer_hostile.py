"""Hostile inputs and damaged models at the command line (issue 11): `mask-recog-predict` and `mask-recog-detect` run as a user
runs them, as separate processes, on a decompression bomb, a FIFO named like a photo, broken files and a damaged ONNX export."""
import json, os, shutil, subprocess, sys, tempfile, threading, time
from pathlib import Path
import numpy as np, pytest
from PIL import Image
from conftest import console_script

POSIX = pytest.mark.skipif(not hasattr(os, 'mkfifo') or not hasattr(os, 'wait4'), reason='POSIX FIFOs and per-process rusage')
BOMB_EXTRA_MB = 200  # the bomb may cost predict at most this much more than one small photo (400 to 650 MB more before bounded decoding; about 40 now)

def lines(out): return [json.loads(l) for l in out.splitlines() if l.strip()]

def run(cmd, *args, timeout=180):
    "Run `cmd` with `args`: `(returncode, stdout, stderr, peak RSS of that process in MB, seconds)`"
    with tempfile.TemporaryFile('w+') as o, tempfile.TemporaryFile('w+') as e:
        t = time.perf_counter()
        p = subprocess.Popen([*cmd, *map(str, args)], stdout=o, stderr=e, text=True)
        killer = threading.Timer(timeout, p.kill); killer.start()
        try: _, status, ru = os.wait4(p.pid, 0)  # the kernel's accounting of this one process
        finally: killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        secs = time.perf_counter() - t
        assert secs < timeout, f'{cmd} {args}: killed after {timeout} s (hung?)'
        o.seek(0); e.seek(0)
        return p.returncode, o.read(), e.read(), ru.ru_maxrss / 1024, secs

@pytest.fixture(scope='module')
def env(faces, tmp_path_factory):
    "An untrained model (the mechanics need no trained one), its ONNX export, a real face photo, and the two commands"
    from mask_recog.model import build_model, save_model
    from mask_recog.inference import export_onnx
    tmp = tmp_path_factory.mktemp('infer_hostile')
    model = save_model(build_model('resnet18').eval(), {'arch': 'resnet18', 'size': 64}, tmp/'model')
    export_onnx(model)  # model.onnx beside the weights, checked against PyTorch on synthetic images
    face = tmp/'face.jpg'; shutil.copy(sorted((faces/'with_mask').glob('*.jpg'))[0], face)
    return dict(tmp=tmp, model=model, face=face, predict=console_script('mask-recog-predict', 'mask_recog.inference', 'predict_cli', tmp),
                detect=console_script('mask-recog-detect', 'mask_recog.streams', 'detect_cli', tmp))

def damaged(env, name, data:bytes)->Path:
    "A copy of the model folder whose file `name` holds `data`"
    d = Path(tempfile.mkdtemp(dir=env['tmp']))/'model'
    shutil.copytree(env['model'], d); (d/name).write_bytes(data)
    return d

@POSIX
def test_predict_bomb_png_memory_is_bounded(env):
    "An 8 KB PNG of 8000×8000 pixels (under the 64-megapixel cap) is classified at a bounded cost"
    bomb = env['tmp']/'bomb.png'; Image.new('1', (8000, 8000)).save(bomb, optimize=True)
    assert bomb.stat().st_size < 20_000
    rc0, out0, err0, base, _ = run(env['predict'], '--model', env['model'], env['face'], '--device', 'cpu')
    assert rc0 == 0, err0
    rc, out, err, peak, _ = run(env['predict'], '--model', env['model'], bomb, '--device', 'cpu')
    [o] = lines(out)
    assert rc == 0 and o['path'] == str(bomb) and o['label'] in ('with_mask', 'without_mask'), (rc, out, err)
    print(f'predict peak RSS: {base:.0f} MB on one photo, {peak:.0f} MB on the bomb')
    assert peak - base < BOMB_EXTRA_MB, f'the bomb took predict to {peak:.0f} MB, {peak - base:.0f} MB above one small photo ({base:.0f} MB)'

@POSIX
def test_predict_fifo_and_broken_files(env):
    "A FIFO named like a photo, named or inside a folder, gets an error line at once; any failure makes the exit status 1"
    d = env['tmp']/'mixed'; d.mkdir()
    shutil.copy(env['face'], d/'a.jpg'); os.mkfifo(d/'fifo.jpg'); (d/'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 not really a jpeg')
    os.symlink(d/'gone.jpg', d/'dangling.jpg')
    rc, out, err, _, secs = run(env['predict'], '--model', env['model'], d, d/'fifo.jpg', '--device', 'cpu', timeout=120)
    got = [(Path(o['path']).name, o.get('error')) for o in lines(out)]
    assert [n for n, _ in got] == ['a.jpg', 'broken.jpg', 'dangling.jpg', 'fifo.jpg', 'fifo.jpg'], got
    errs = dict(got)
    assert errs['a.jpg'] is None and errs['fifo.jpg'] == 'not a regular file: a FIFO'
    assert 'cannot decode' in errs['broken.jpg'] or 'not an image' in errs['broken.jpg']
    assert 'dangling or looping symlink' in errs['dangling.jpg']
    assert rc == 1 and '4 of 5 inputs could not be classified' in err and 'Traceback' not in err, (rc, err)
    print(f'predict with a FIFO among its inputs returned in {secs:.1f} s')

@pytest.mark.parametrize('name,how', [('model.onnx', 'truncated'), ('model.onnx', 'random'), ('model.int8.onnx', 'random')])
def test_predict_damaged_onnx_is_one_line(env, name, how):
    "`--backend onnx` on a damaged export exits non-zero with one line naming the file; the PyTorch backend beside it still works"
    good = (env['model']/'model.onnx').read_bytes()
    m = damaged(env, name, good[:len(good) // 2] if how == 'truncated' else np.random.default_rng(1).bytes(20_000))
    rc, out, err, _, _ = run(env['predict'], '--model', m, env['face'], '--backend', 'onnx', *(['--int8'] if 'int8' in name else []))
    assert rc != 0 and out == '', (rc, out)
    assert err.strip().startswith(f'mask-recog-predict: {m/name}: damaged') and len(err.strip().splitlines()) == 1, err
    assert 'Traceback' not in err
    if how == 'random' and name == 'model.onnx':
        rc, out, err, _, _ = run(env['predict'], '--model', m, env['face'], '--device', 'cpu')  # torch: the weights are fine
        assert rc == 0 and lines(out)[0]['label'], err

def test_detect_damaged_onnx_falls_back(env, detector_models, scenes, scene_photos):
    "A damaged model.onnx does not stop detection: a warning naming the file and why, then the PyTorch weights"
    m = damaged(env, 'model.onnx', np.random.default_rng(2).bytes(20_000))
    menv = {**os.environ, 'MASK_RECOG_MODELS': str(detector_models)}
    p = subprocess.run([*env['detect'], '--model', str(m), str(scenes/scene_photos[0]), '--device', 'cpu'], capture_output=True, text=True, timeout=300, env=menv)
    assert p.returncode == 0, p.stderr
    assert f"warning: {m/'model.onnx'}: damaged" in p.stderr and 'using the PyTorch weights instead' in p.stderr, p.stderr
    [rec] = lines(p.stdout)
    assert rec['faces'] and all(f['label'] in ('with_mask', 'without_mask') for f in rec['faces'])

@POSIX
def test_detect_hostile_folder(env, detector_models, scenes, scene_photos):
    "mask-recog-detect on a folder with a FIFO and a broken photo: a line for each, error lines for the bad ones, exit status 1"
    d = env['tmp']/'scenes_mixed'; d.mkdir()
    shutil.copy(scenes/scene_photos[0], d/'a.jpg'); os.mkfifo(d/'fifo.jpg'); (d/'broken.jpg').write_bytes((scenes/scene_photos[1]).read_bytes()[:300])
    menv = {**os.environ, 'MASK_RECOG_MODELS': str(detector_models)}
    p = subprocess.run([*env['detect'], '--model', str(env['model']), str(d), '--device', 'cpu'], capture_output=True, text=True, timeout=180, env=menv)
    recs = {Path(r['source']).name: r for r in lines(p.stdout)}
    assert sorted(recs) == ['a.jpg', 'broken.jpg', 'fifo.jpg'], p.stdout
    assert 'faces' in recs['a.jpg'] and recs['fifo.jpg']['error'] == 'not a regular file: a FIFO' and 'error' in recs['broken.jpg']
    assert p.returncode == 1 and '2 of 3 images failed' in p.stderr and 'Traceback' not in p.stderr, p.stderr
