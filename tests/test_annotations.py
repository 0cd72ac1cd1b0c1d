"Odd annotations and file names cost one item each, with a note naming the file; the set carries on (issue 25)"
import os, re, json, shutil, subprocess
from pathlib import Path
import pytest
from mask_recog.core import sample_path
from mask_recog.data import scan_yolo, scan_voc

SCENES = sample_path('scenes')                       # two real photos with VOC boxes (face-mask-853, CC0)
PHOTOS = sorted((SCENES/'images').glob('*.jpg'))
BAD_NAME = os.fsdecode(b'caf\xe9.jpg')               # a Latin-1 byte in a file name: not UTF-8

def _obj(name, box=None, bndbox=True):
    "A VOC <object>; `box` a dict of the coordinate elements to write (strings), None for a sane one"
    b = {'xmin': '102', 'ymin': '97', 'xmax': '140', 'ymax': '135'} if box is None else box
    inner = ''.join(f'<{k}>{v}</{k}>' for k, v in b.items())
    return f"<object><name>{name}</name>{f'<bndbox>{inner}</bndbox>' if bndbox else ''}</object>"

def _voc(path:Path, filename:str, objects:list[str]):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<annotation><filename>{filename}</filename>{''.join(objects)}</annotation>")

@pytest.fixture
def voc_set(tmp_path):
    "A VOC set of real photos: one sane file, and one file per fault"
    root = tmp_path/'voc'; (root/'images'/'sub').mkdir(parents=True)
    a, b = PHOTOS
    shutil.copy(a, root/'images'/a.name); shutil.copy(b, root/'images'/'sub'/b.name)
    shutil.copy(a, tmp_path/'outside.jpg'); os.symlink(tmp_path/'outside.jpg', root/'images'/'link.jpg')
    ann = root/'annotations'
    _voc(ann/'good.xml', a.name, [_obj('with_mask'), _obj('without_mask', {'xmin': '64', 'ymin': '151', 'xmax': '110', 'ymax': '201'})])
    _voc(ann/'sub.xml', f'sub/{b.name}', [_obj('with_mask')])                                   # a sub-folder: resolved inside the set
    _voc(ann/'faults.xml', a.name, [_obj('with_mask', bndbox=False),                            # object 1: no <bndbox>
                                    _obj('with_mask', {'ymin': '1', 'xmax': '9', 'ymax': '9'}), # 2: no <xmin>
                                    _obj('with_mask', {'xmin': 'abc', 'ymin': '1', 'xmax': '9', 'ymax': '9'}),  # 3: not a number
                                    _obj('with_mask', {'xmin': 'nan', 'ymin': '1', 'xmax': '9', 'ymax': '9'}),  # 4: not finite
                                    _obj('with_mask', {'xmin': '1', 'ymin': '1', 'xmax': '1e308', 'ymax': '9'}),  # 5: absurd
                                    _obj('without_mask')])                                      # 6: sane: kept
    _voc(ann/'escape.xml', '../../outside.jpg', [_obj('with_mask')])                            # outside the set: refused
    _voc(ann/'link.xml', 'link.jpg', [_obj('with_mask')])                                      # a link out of the set: refused
    _voc(ann/'missing.xml', 'nowhere.jpg', [_obj('with_mask')])
    (ann/'broken.xml').write_bytes(b'<annotation><filename>x.jpg</filename><object>')
    return root

def test_voc_one_bad_file_at_a_time(voc_set):
    items, notes = scan_voc(voc_set)
    kept = sorted((it['path'], it['label']) for it in items)
    a, b = (p.name for p in PHOTOS)
    assert kept == sorted([(f'images/{a}', 'with_mask'), (f'images/{a}', 'without_mask'), (f'images/sub/{b}', 'with_mask'), (f'images/{a}', 'without_mask')]), kept
    by_file = {}
    for n in notes: by_file.setdefault(n.split(': ', 1)[0], []).append(n.split(': ', 1)[1])
    faults = by_file.pop('annotations/faults.xml')
    assert [f.split(':', 1)[0] for f in faults] == [f'object {k} (with_mask)' for k in (1, 2, 3, 4, 5)], faults
    for k, why in zip(range(5), ['no <bndbox>', 'without <xmin>', 'not numbers', 'not finite', 'absurd coordinates']): assert why in faults[k], (why, faults[k])
    assert set(by_file) == {'annotations/escape.xml', 'annotations/link.xml', 'annotations/missing.xml', 'annotations/broken.xml'}, by_file
    assert 'points outside the set' in by_file['annotations/escape.xml'][0] and 'resolves outside the set' in by_file['annotations/link.xml'][0]
    assert 'not found' in by_file['annotations/missing.xml'][0] and 'not a readable VOC file' in by_file['annotations/broken.xml'][0]

@pytest.fixture
def yolo_set(tmp_path):
    "A YOLO set of real photos: a sane label file, one with bad lines beside a good one, one not UTF-8, a photo whose name is not UTF-8"
    root = tmp_path/'yolo'; (root/'images').mkdir(parents=True); (root/'labels').mkdir()
    (root/'obj.names').write_text('with_mask\nwithout_mask\n')
    a, b = PHOTOS
    for p in (a, b): shutil.copy(p, root/'images'/p.name)
    shutil.copy(a, root/'images'/'c.jpg'); shutil.copy(b, root/'images'/BAD_NAME)
    (root/'labels'/f'{a.stem}.txt').write_text('0 0.3 0.4 0.1 0.15\n1 0.2 0.6 0.1 0.2\n')
    (root/'labels'/f'{b.stem}.txt').write_text('0 nan 0.5 0.1 0.1\n1 0.5 0.5 inf 0.1\n0 0.5 0.5 1e308 0.1\n0 0.5 0.5 0 0.1\n1 0.5 0.5 0.1 0.1\n')
    (root/'labels'/'c.txt').write_bytes(b'0 0.5 0.5 0.1 0.1 \xff\xfe\n')
    (root/'labels'/Path(BAD_NAME).with_suffix('.txt')).write_text('0 0.5 0.5 0.1 0.1\n')
    return root

def test_yolo_one_bad_file_at_a_time(yolo_set):
    items, notes = scan_yolo(yolo_set)
    a, b = (p.stem for p in PHOTOS)
    assert sorted((Path(it['path']).stem, it['label']) for it in items) == sorted([(a, 'with_mask'), (a, 'without_mask'), (b, 'without_mask')])
    bad = [n for n in notes if n.startswith(f'labels/{b}.txt:')]
    assert [n.split(': ', 1)[1].split(':')[0] for n in bad] == ['coordinates not finite', 'coordinates not finite', 'box outside the photo', 'empty box'], bad
    assert [n.split(':')[1] for n in bad] == ['1', '2', '3', '4']                                # the line of each
    assert any(n.startswith('labels/c.txt: not UTF-8 text') for n in notes), notes
    assert any(n == 'images/caf\\udce9.jpg: file name is not valid UTF-8 (rename it)' for n in notes), notes
    assert len(notes) == 6, notes

def test_prepare_carries_on_and_says_so(voc_set, tmp_path):
    "mask-recog-prepare on the faulty VOC set: exit 0, the good faces prepared, what was left out counted by reason on the console"
    r = subprocess.run(['mask-recog-prepare', str(voc_set), '--out', str(tmp_path/'prep')], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    rep = json.loads((tmp_path/'prep'/'report.json').read_text())
    assert rep['rows'] == 4 and rep['n_notes'] == 9, (rep['rows'], rep['notes'])
    out = r.stdout
    assert 'left out while scanning: 9' in out, out
    lines = [l.strip() for l in out.splitlines() if l.startswith('  ') and ' × ' in l]
    assert sum(int(l.split(' × ')[0]) for l in lines) == 9 and any('an object: no <bndbox>' in l and 'annotations/faults.xml' in l for l in lines), lines
