"Several sources prepared into one leak-free dataset: real faces in two class-folder sources and a real YOLO scene subset, near-duplicates across them"
import json, shutil, subprocess
from pathlib import Path
import pandas as pd, pytest
from PIL import Image
from conftest import is_full, console_script
from mask_recog.images import IMG_EXTS
from mask_recog.groups import split_of
from mask_recog.data import prepare

PAIRS = {'images/train/asian_mask140.jpg': 'images/test/asian_mask8.jpg',   # mask-scenes-571 lists these photos in two splits (same bytes)
         'images/train/asian_mask144.jpg': 'images/valid/asian_mask9.jpg'}

def _imgs(d:Path)->list: return sorted(p for p in d.iterdir() if p.suffix.lower() in IMG_EXTS)

def _near_copy(src:Path, dest:Path, scale=.8, quality=60):
    "`src` as another collection would hold it: resized and re-encoded at another JPEG quality"
    im = Image.open(src).convert('RGB')
    dest.parent.mkdir(parents=True, exist_ok=True)
    im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BILINEAR).save(dest, 'JPEG', quality=quality)

def _scene_subset(scenes:Path, dest:Path)->list:
    "A few photos of each split of the YOLO set `scenes` (with their labels), and the photos a full set lists twice; their paths"
    picks = [p.relative_to(scenes).as_posix() for s, n in [('train', 3), ('valid', 2), ('test', 2)] for p in _imgs(scenes/'images'/s)[:n]]
    picks += [p for kv in PAIRS.items() for p in kv if is_full(scenes)]
    for rel in dict.fromkeys(picks):
        for f, d in [(rel, 'images'), (str(Path(rel).with_suffix('.txt')).replace('images/', 'labels/', 1), 'labels')]:
            (dest/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy(scenes/f, dest/f)
    shutil.copy(scenes/'obj.names', dest/'obj.names')
    return list(dict.fromkeys(picks))

@pytest.fixture(scope='module')
def srcs(faces, scenes, tmp_path_factory):
    "Sources `faces-a` and `faces-b` (10 real faces per class each; B holds a near-copy of A's first with_mask face, A one of a held-out scene photo) and a `scenes` subset"
    d = tmp_path_factory.mktemp('sources')
    a, b, s = d/'faces-a', d/'faces-b', d/'scenes'
    for c in ['with_mask', 'without_mask']:
        fs = _imgs(faces/c)
        for src, part in [(a, fs[:10]), (b, fs[10:20])]:
            (src/c).mkdir(parents=True)
            for f in part: shutil.copy(f, src/c/f.name)
    first = _imgs(a/'with_mask')[0]
    _near_copy(first, b/'with_mask'/'near_copy.jpg')
    photos = _scene_subset(scenes, s)
    held = next(p for p in photos if p.startswith('images/test/'))
    _near_copy(s/held, a/'with_mask'/'scene_copy.jpg', scale=.7, quality=70)
    return dict(a=a, b=b, s=s, first=f'with_mask/{first.name}', held=held, photos=photos)

def _labels(s:Path, photos:list)->int: return sum(1 for p in photos for l in (s/p.replace('images/', 'labels/', 1)).with_suffix('.txt').read_text().splitlines() if l.strip())

@pytest.fixture(scope='module')
def merged(srcs, tmp_path_factory):
    out = tmp_path_factory.mktemp('merged')/'out'
    df = prepare([srcs['a'], srcs['b'], srcs['s']], out, cache_side=64, workers=1, progress=False)
    return df, json.loads((out/'report.json').read_text()), out

def row(df, source, path): return df[(df.source == source) & (df.path == path)].iloc[0]

def test_source_column(srcs, merged):
    df, rep, out = merged
    test = pd.read_csv(out/'manifest.csv', keep_default_na=False)
    assert test.source.tolist() == df.source.tolist()
    n = {'faces-a': 21, 'faces-b': 21, 'scenes': _labels(srcs['s'], srcs['photos'])}
    assert df.source.value_counts().to_dict() == n
    assert set(df[df.source == 'faces-b'].path) == {p.relative_to(srcs['b']).as_posix() for p in srcs['b'].rglob('*.*')}  # paths relative to their own root
    assert df.path.str.startswith('images/').groupby(df.source).all().to_dict() == {'faces-a': False, 'faces-b': False, 'scenes': True}

def test_near_duplicate_across_sources(srcs, merged):
    df, rep, _ = merged
    a, b = row(df, 'faces-a', srcs['first']), row(df, 'faces-b', 'with_mask/near_copy.jpg')
    assert a.sha256 != b.sha256 and (a.status, b.status) == ('ok', 'ok')
    assert a.group == b.group and a.split == b.split                    # one group, one split
    assert rep['groups_spanning_splits'] == 0
    assert (df[df.status == 'ok'].groupby('group').split.nunique() == 1).all()

def test_declared_splits(srcs, merged):
    df, rep, _ = merged
    sc = df[(df.source == 'scenes') & (df.status == 'ok')]
    declared = sc.path.str.split('/').str[1]
    assert (sc.split[declared == 'test'] == 'test').all() and len(sc[declared == 'test'])
    assert sc.split[declared == 'valid'].isin(['valid', 'test']).all() and len(sc[declared == 'valid'])
    held_out = set(df[df.source.eq('scenes') & df.path.str.contains('/(?:valid|test)/')].sha256)
    assert not (df[df.status == 'ok'].sha256.isin(held_out) & (df.split == 'train')).any()  # no held-out photo trained on, under any name
    copy = row(df, 'faces-a', 'with_mask/scene_copy.jpg')                                   # A's copy of a held-out scene photo
    assert copy.group == row(df, 'scenes', srcs['held']).group and copy.split == 'test'
    if all(p in srcs['photos'] for p in PAIRS):  # the full set: photos it lists in train and in valid/test are held out
        for tr, ho in PAIRS.items():
            both = df[(df.source == 'scenes') & df.path.isin([tr, ho])]   # same bytes (its boxes differ a little): one group, held out
            assert both.group.nunique() == 1 and set(both.split) == {ho.split('/')[1]}, both[['path', 'split', 'status']]

def test_report(srcs, merged):
    df, rep, _ = merged
    p = rep['params']
    assert [(s['name'], s['kind']) for s in p['sources']] == [('faces-a', 'folder'), ('faces-b', 'folder'), ('scenes', 'yolo')]
    assert [s['source'] for s in p['sources']] == [str(srcs[k]) for k in 'abs'] and 'source' not in p
    for name, s in rep['sources'].items():
        sub = df[df.source == name]
        ok = sub[sub.status == 'ok']
        assert s['rows'] == len(sub) and s['files'] == sub.path.nunique() and s['status'] == sub.status.value_counts().to_dict()
        assert s['splits'] == {sp: g.label.value_counts().to_dict() for sp, g in ok.groupby('split')}
    assert sum(s['rows'] for s in rep['sources'].values()) == rep['rows'] == len(df)
    assert rep['files'] == len(df.drop_duplicates(['source', 'path']))

def test_adding_sources_moves_nothing(srcs, tmp_path):
    out = tmp_path/'grow'
    a = prepare(srcs['a'], out, cache_side=64, workers=1, progress=False)
    gid = a.set_index('path').group['with_mask/scene_copy.jpg']
    seed = next(s for s in range(100) if split_of(gid, s) == 'train')  # the seed that puts A's copy of a held-out scene photo in train
    a = prepare(srcs['a'], out, seed=seed, cache_side=64, workers=1, progress=False)
    assert set(a.source) == {'faces-a'} and a.set_index('path').split['with_mask/scene_copy.jpg'] == 'train'
    ab = prepare([srcs['a'], srcs['b']], out, seed=seed, cache_side=64, workers=1, progress=False)
    abs_ = prepare([srcs['a'], srcs['b'], srcs['s']], out, seed=seed, cache_side=64, workers=1, progress=False)
    for m in (ab, abs_):
        got = m[m.source == 'faces-a'].set_index(['path', 'box'])
        assert got.loc[list(zip(a.path, a.box)), 'split'].tolist() == a.split.tolist()       # every A row where it was
        assert row(m, 'faces-b', 'with_mask/near_copy.jpg').split == row(a, 'faces-a', srcs['first']).split
    held = abs_[(abs_.source == 'scenes') & (abs_.path == srcs['held'])]
    assert set(held.status) == {'leak'} and set(held.split) == {'excluded'}  # held out by its source, but its near-copy is in train
    assert 'faces-a:with_mask/scene_copy.jpg is already in train' in held.reason.iat[0]
    rep = json.loads((out/'report.json').read_text())
    assert rep['groups_spanning_splits'] == 0 and rep['status']['leak'] == len(held) and rep['leaks'][0]['source'] == 'scenes'

def test_cli_two_sources(srcs, tmp_path):
    cmd = console_script('mask-recog-prepare', 'mask_recog.data', 'prepare_cli', tmp_path)
    r = subprocess.run(cmd + [str(srcs['a']), str(srcs['b']), '--cache-side', '64', '--workers', '1'], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    out = tmp_path/'data'/'prepared'/'faces-a+faces-b'                    # the default out for several sources
    m = pd.read_csv(out/'manifest.csv', keep_default_na=False)
    assert m.source.value_counts().to_dict() == {'faces-a': 21, 'faces-b': 21}
    assert '  faces-a: 21 rows' in r.stdout and '  faces-b: 21 rows' in r.stdout
    assert m.set_index(['source', 'path']).group[('faces-a', srcs['first'])] == m.set_index(['source', 'path']).group[('faces-b', 'with_mask/near_copy.jpg')]
