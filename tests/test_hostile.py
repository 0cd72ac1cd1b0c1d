"Hostile inputs at the process level: archive bombs through the command line, odd files in a dataset, a killed prepare."
import os, sys, json, time, signal, zipfile, subprocess
from pathlib import Path
import pytest
from PIL import Image
from mask_recog.core import serve_dir, sample_path
from conftest import console_script

def _run(args, env, tmp, timeout=120):
    return subprocess.run(console_script('mask-recog-prepare', 'mask_recog.data', 'prepare_cli', tmp) + args,
                          capture_output=True, text=True, env=env, timeout=timeout)

def test_zip_bomb_over_http_is_refused_and_leaves_nothing(tmp_path):
    srv, home = tmp_path/'srv', tmp_path/'home'; srv.mkdir()
    with zipfile.ZipFile(srv/'faces.zip', 'w', zipfile.ZIP_DEFLATED) as z:
        z.write(next((sample_path()/'with_mask').glob('*.jpg')), 'faces/with_mask/a.jpg')
        z.writestr('faces/without_mask/b.jpg', b'\0' * (256 << 20))  # 256 MiB of zeros in a few hundred KB
    assert (srv/'faces.zip').stat().st_size < 1 << 20
    env = {**os.environ, 'MASK_RECOG_HOME': str(home)}
    with serve_dir(srv) as url:
        r = _run([f'{url}/faces.zip', '--out', str(tmp_path/'out')], env, tmp_path)
    assert r.returncode != 0
    assert 'faces.zip' in r.stderr and 'expands' in r.stderr and 'refusing to extract' in r.stderr, r.stderr
    left = [p for p in home.rglob('*') if p.is_file()]
    assert left == [], left  # neither the extracted bytes nor the downloaded archive stay
    assert not (tmp_path/'out'/'manifest.csv').exists()

def test_odd_files_are_quarantined_one_by_one(tmp_path):
    d = tmp_path/'set'
    for c in ['with_mask', 'without_mask']:
        (d/c).mkdir(parents=True)
        for f in sorted((sample_path()/c).glob('*.jpg'))[:3]: (d/c/f.name).write_bytes(f.read_bytes())
    os.symlink(d/'gone.jpg', d/'with_mask'/'dangling.jpg')
    os.symlink(d/'without_mask'/'loop.jpg', d/'without_mask'/'loop.jpg')
    os.mkfifo(d/'with_mask'/'fifo.jpg')
    r = _run([str(d), '--out', str(tmp_path/'out')], os.environ.copy(), tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path/'out'/'report.json').read_text())
    q = {x['path']: x['reason'] for x in rep['quarantined']}
    assert set(q) == {'with_mask/dangling.jpg', 'without_mask/loop.jpg', 'with_mask/fifo.jpg'}, q
    assert 'FIFO' in q['with_mask/fifo.jpg'] and 'symlink' in q['with_mask/dangling.jpg']
    assert rep['status']['ok'] == 6

@pytest.mark.skipif(not hasattr(os, 'getppid') or sys.platform == 'win32', reason='POSIX process model')
def test_killed_prepare_leaves_no_workers(tmp_path):
    d = tmp_path/'set'
    for c in ['with_mask', 'without_mask']:
        (d/c).mkdir(parents=True)
        for f in sorted((sample_path()/c).glob('*.jpg')):
            for k in range(4): Image.open(f).resize((400, 400)).save(d/c/f'{k}_{f.name}', quality=95)  # enough work for the pool
    code = f"from mask_recog.data import prepare; prepare({str(d)!r}, {str(tmp_path/'out')!r}, workers=2, progress=False)"
    p = subprocess.Popen([sys.executable, '-c', code])
    deadline = time.time() + 60
    kids = []
    while time.time() < deadline and not kids:  # wait until the pool has started
        time.sleep(0.2)
        kids = [int(k) for k in subprocess.run(['pgrep', '-P', str(p.pid)], capture_output=True, text=True).stdout.split()]
    assert kids, 'the pool never started'
    p.send_signal(signal.SIGKILL); p.wait()
    t0 = time.time()
    while time.time() - t0 < 5 and any(Path(f'/proc/{k}').exists() and 'Z' not in Path(f'/proc/{k}/stat').read_text().split()[2] for k in kids):
        time.sleep(0.1)
    alive = [k for k in kids if Path(f'/proc/{k}').exists() and 'Z' not in Path(f'/proc/{k}/stat').read_text().split()[2]]
    assert alive == [], f'workers {alive} outlived their killed parent by 5 s'

def test_one_class_source_warns(tmp_path):
    d = tmp_path/'set'/'with_mask'; d.mkdir(parents=True)
    for f in sorted((sample_path()/'with_mask').glob('*.jpg'))[:12]: (d/f.name).write_bytes(f.read_bytes())
    r = _run([str(tmp_path/'set'), '--out', str(tmp_path/'out')], os.environ.copy(), tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr   # the manifest is right; it is training that refuses it (see test_model_hostile.py)
    rep = json.loads((tmp_path/'out'/'report.json').read_text())
    assert any('no usable without_mask images in the train split' in w for w in rep['warnings']), rep['warnings']
    assert 'warning: no usable without_mask images in the train split' in r.stderr, r.stderr
