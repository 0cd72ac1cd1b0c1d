"The `mask-recog-prepare` command, run as a user runs it: a separate process, real files, real outputs."
import json, os, subprocess, sys, zipfile
from pathlib import Path
import pandas as pd
from conftest import is_full

COLS = ['source', 'path', 'label', 'split', 'group', 'sha256', 'phash', 'width', 'height', 'status', 'reason']

def run(*args, cwd=None):
    return subprocess.run(['mask-recog-prepare', *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)

def test_help():
    r = run('--help')
    assert r.returncode == 0 and '--valid-pct' in r.stdout and '--cache-side' in r.stdout and '[source ...]' in r.stdout  # one SOURCE or several

def test_real_subset(small_real_set, tmp_path):
    out = tmp_path/'prep'
    r = run(small_real_set, '--out', out, '--cache-side', 128)
    assert r.returncode == 0, r.stderr
    m = pd.read_csv(out/'manifest.csv', keep_default_na=False)
    assert set(COLS) <= set(m.columns) and set(m.source) == {'faces'}  # one source: named after its folder
    assert len(m) == 120 and sorted(m.path) == sorted(p.relative_to(small_real_set).as_posix() for p in small_real_set.rglob('*') if p.is_file())
    assert set(m.split) <= {'train', 'valid', 'test', 'excluded'} and set(m.status) <= {'ok', 'duplicate', 'quarantined', 'conflict'}
    ok = m[m.status == 'ok']
    assert (ok.groupby('group').split.nunique() == 1).all()
    from PIL import Image
    for c in ok.cache[:20]:
        im = Image.open(out/'cache'/c); assert im.mode == 'RGB' and max(im.size) <= 128
    rep = json.loads((out/'report.json').read_text())
    assert rep['rows'] == 120 and rep['groups_spanning_splits'] == 0 and rep['reused_files'] == 0
    r2 = run(small_real_set, '--out', out, '--cache-side', 128)
    assert r2.returncode == 0 and '(120 reused)' in r2.stdout
    assert pd.read_csv(out/'manifest.csv', keep_default_na=False).drop(columns='mtime_ns').equals(m.drop(columns='mtime_ns'))

def test_scene_crops(scenes, tmp_path):
    r = run(scenes, '--out', tmp_path/'scenes')
    assert r.returncode == 0, r.stderr
    m = pd.read_csv(tmp_path/'scenes'/'manifest.csv', keep_default_na=False)
    labels = {f: [l.split()[0] for l in f.read_text().splitlines() if l.strip()] for f in (scenes/'labels').rglob('*.txt')}
    boxes, photos = sum(labels.values(), []), [f for f, v in labels.items() if v]   # the labelled faces, the photos holding them
    assert len(m) == len(boxes) and m.path.nunique() == len(photos)          # one crop per labelled face, every photo
    assert m.label.value_counts().to_dict() == {k: v for k, v in {'with_mask': boxes.count('0'), 'without_mask': boxes.count('1')}.items() if v}
    if is_full(scenes): assert (len(m), m.path.nunique(), boxes.count('0'), boxes.count('1')) == (975, 571, 708, 267)
    assert (m[m.status == 'ok'].groupby('path').split.nunique() == 1).all()   # one photo, one split
    ok, declared = m[m.status == 'ok'], m.path.str.split('/').str[1]           # the set's own splits: images/{train,valid,test}
    assert (ok.split[declared == 'test'] == 'test').all() and ok.split[declared == 'valid'].isin(['valid', 'test']).all()
    assert not (ok.sha256.isin(m.sha256[declared != 'train']) & (ok.split == 'train')).any()  # a photo it also lists as held out is never trained on
    assert (m.crop != '').all()

def test_bad_inputs(tmp_path):
    src = tmp_path/'src'; (src/'mask').mkdir(parents=True); (src/'no_mask').mkdir()
    (src/'mask'/'text.jpg').write_text('hello'); (src/'no_mask'/'empty.png').write_bytes(b'')
    from PIL import Image
    Image.new('RGB', (50, 40), (10, 120, 30)).save(src/'no_mask'/'ok face.jpg')
    r = run(src, '--out', tmp_path/'out')
    assert r.returncode == 0, r.stderr
    assert 'quarantined mask/text.jpg: not an image' in r.stdout and 'quarantined no_mask/empty.png: empty file' in r.stdout
    m = pd.read_csv(tmp_path/'out'/'manifest.csv', keep_default_na=False).set_index('path')
    assert m.status['no_mask/ok face.jpg'] == 'ok' and m.split['mask/text.jpg'] == 'excluded'

def test_clear_errors(tmp_path):
    r = run(tmp_path/'nowhere', '--out', tmp_path/'o')
    assert r.returncode != 0 and 'nowhere: no such folder' in r.stderr and 'Traceback' not in r.stderr
    z = tmp_path/'evil.zip'
    with zipfile.ZipFile(z, 'w') as f: f.writestr('../../x.jpg', b'x')
    r = subprocess.run(['mask-recog-prepare', str(z), '--out', str(tmp_path/'o')], capture_output=True, text=True,
                       env={**os.environ, 'MASK_RECOG_HOME': str(tmp_path/'home')})
    assert r.returncode != 0 and 'would be written outside' in r.stderr and 'Traceback' not in r.stderr
