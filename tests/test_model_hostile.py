"""Damaged model folders and data that cannot train, through the commands as users run them (issue 11, items 3, 5 and 7).

`mask-recog-predict` on a damaged model folder and `mask-recog-train` on data it cannot learn from must exit non-zero with one
line that names the file at fault, and training must write nothing. A few cases run as separate processes; the others call the
same command functions in-process (`SystemExit(message)` is what the process prints and exits 1 with), because each process
costs seconds of imports."""
import json, shutil, subprocess
from pathlib import Path
import pandas as pd
import pytest
from conftest import console_script

TINY = dict(arch='resnet18', size=32, epochs=1, lr=1e-3, bs=16, pretrained=False, device='cpu')  # seconds on a CPU

def run(cmd, *args):
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=300)

def one_line(msg:str, prog:str)->str:
    "The message of a failed command: one line starting with the command's name, no traceback"
    msg = msg.strip()
    assert msg.startswith(f'{prog}: ') and '\n' not in msg and 'Traceback' not in msg, msg
    return msg

@pytest.fixture(scope='module')
def tmp(tmp_path_factory): return tmp_path_factory.mktemp('model_hostile')

@pytest.fixture(scope='module')
def cmds(tmp):
    return dict(predict=console_script('mask-recog-predict', 'mask_recog.inference', 'predict_cli', tmp),
                train=console_script('mask-recog-train', 'mask_recog.train', 'train_cli', tmp))

@pytest.fixture(scope='module')
def prep(small_real_set, tmp):
    "60 real faces per class, prepared"
    from mask_recog.data import prepare
    prepare(small_real_set, tmp/'prep', progress=False)
    return tmp/'prep'

@pytest.fixture(scope='module')
def model(prep, tmp):
    "A tiny model trained on `prep`"
    from mask_recog.train import train
    train(prep, tmp/'model', **TINY)
    return tmp/'model'

@pytest.fixture(scope='module')
def face(small_real_set): return sorted((small_real_set/'without_mask').iterdir())[0]

# ---------------------------------------------------------------- damaged model folders

def _three_outputs(d:Path):
    "Weights with a 3-class head under the 2-class model.json (its sha256 updated, so that the shapes are what is checked)"
    from safetensors.torch import save
    from mask_recog.model import build_model
    blob = save({k: v.contiguous() for k, v in build_model('resnet18', 3).state_dict().items()})
    (d/'model.safetensors').write_bytes(blob)
    import hashlib
    meta = json.loads((d/'model.json').read_text()); meta['weights_sha256'] = hashlib.sha256(blob).hexdigest()
    (d/'model.json').write_text(json.dumps(meta))

def _other_weights(d:Path):
    "The weights of another (untrained) resnet18 under this model.json"
    from mask_recog.model import build_model, save_model
    save_model(build_model('resnet18'), {'arch': 'resnet18', 'size': 32}, d.parent/f'{d.name}-other')
    shutil.copy(d.parent/f'{d.name}-other'/'model.safetensors', d/'model.safetensors')

def _cut(d:Path):
    b = (d/'model.safetensors').read_bytes(); (d/'model.safetensors').write_bytes(b[:len(b) // 2])

# case: (how the folder is damaged, the file the message must name, what it must say)
DAMAGE = {
    'size_100000': ({'size': 100000}, 'model.json', 'size 100000: expected a whole number of pixels from 16 to 1024'),
    'size_null': ({'size': None}, 'model.json', 'size None'),
    'not_json': ('{"arch": "resnet18", "size": ', 'model.json', 'not valid JSON'),
    'truncated_weights': (_cut, 'model.safetensors', 'damaged: not a complete safetensors file'),
    'unknown_class': ({'classes': ['with_mask', 'without_mask', 'other']}, 'model.json', 'or those and more of'),
    'three_outputs': (_three_outputs, 'model.safetensors', "tensor '1.8.weight' has shape (3, 512), the model needs (2, 512)"),
    'unknown_arch': ({'arch': 'resnet35'}, 'model.json', "unknown architecture 'resnet35'"),
    'classes_not_the_two': ({'classes': ['mask', 'no_mask']}, 'model.json', "expected ['with_mask', 'without_mask']"),
    'swapped_classes': ({'classes': ['without_mask', 'with_mask']}, 'model.json', 'was trained as ["with_mask", "without_mask"]'),
    'other_weights': (_other_weights, 'model.safetensors', 'its sha256 is not the weights_sha256 in'),
    'threshold_2': ({'threshold': 2}, 'model.json', 'threshold 2'),
}

def damaged(model:Path, case:str)->Path:
    "A copy of `model` damaged as `DAMAGE[case]` says"
    d = model.parent/f'damaged-{case}'
    if d.exists(): return d
    shutil.copytree(model, d)
    how = DAMAGE[case][0]
    if isinstance(how, dict): (d/'model.json').write_text(json.dumps({**json.loads((d/'model.json').read_text()), **how}))
    elif isinstance(how, str): (d/'model.json').write_text(how)
    else: how(d)
    return d

@pytest.mark.parametrize('case', list(DAMAGE))
def test_predict_refuses_damaged_model(model, face, case):
    from mask_recog.cli import predict_cli
    d = damaged(model, case)
    with pytest.raises(SystemExit) as e: predict_cli(str(face), model=str(d))
    msg = one_line(str(e.value), 'mask-recog-predict')
    _, fname, says = DAMAGE[case]
    assert f'mask-recog-predict: {d/fname}: ' in msg and says in msg, msg
    if case == 'other_weights': assert str(d/'model.json') in msg  # both files named
    assert len(msg) < 600, msg  # a sentence, not a state_dict dump

@pytest.mark.parametrize('case', ['size_100000', 'size_null', 'truncated_weights', 'swapped_classes'])
def test_predict_process_exits_nonzero(model, face, cmds, case):
    "As a process: exit 1, one line on stderr naming the file, nothing on stdout (a size of 100000 once took 21 GB and the kernel's OOM killer)"
    d = damaged(model, case)
    r = run(cmds['predict'], '--model', d, face)
    assert r.returncode == 1 and r.stdout == '', (r.returncode, r.stdout, r.stderr[-3000:])
    msg = one_line(r.stderr.strip().splitlines()[-1], 'mask-recog-predict')
    assert str(d/DAMAGE[case][1]) in msg and not [l for l in r.stderr.splitlines() if 'Traceback' in l], r.stderr[-3000:]

def test_sound_model_predicts(model, face):
    "The undamaged folder still works: the checks refuse only what is wrong"
    from mask_recog.inference import Classifier
    clf = Classifier(model, device='cpu')
    r = clf.predict(str(face))
    assert r['label'] in ('with_mask', 'without_mask') and 0 <= r['prob_with_mask'] <= 1
    assert clf.meta['weights_sha256'] == json.loads((model/'model.json').read_text())['weights_sha256']

# ---------------------------------------------------------------- data that cannot train

@pytest.fixture(scope='module')
def bad_data(prep, small_real_set, tmp):
    "Prepared folders no classifier can be trained on, by the issue's cases"
    from mask_recog.data import prepare
    import warnings
    out = {}
    d = out['cut_manifest'] = tmp/'bad'/'cut'; shutil.copytree(prep, d)
    b = (d/'manifest.csv').read_bytes(); (d/'manifest.csv').write_bytes(b[:len(b) // 2])
    src = tmp/'src'/'masks-only'; shutil.copytree(small_real_set/'with_mask', src/'with_mask')
    with warnings.catch_warnings(): warnings.simplefilter('ignore'); prepare(src, tmp/'bad'/'one_class', progress=False)
    out['one_class'] = tmp/'bad'/'one_class'
    prepare(small_real_set, tmp/'bad'/'no_valid', valid_pct=0, progress=False)  # a consistent manifest without a valid split
    out['no_valid'] = tmp/'bad'/'no_valid'
    d = out['missing_columns'] = tmp/'bad'/'cols'; shutil.copytree(prep, d)
    pd.read_csv(d/'manifest.csv', keep_default_na=False, dtype=str).drop(columns=['cache', 'split']).to_csv(d/'manifest.csv', index=False)
    d = out['edited_label'] = tmp/'bad'/'edited'; shutil.copytree(prep, d)  # same row count, one label flipped
    df = pd.read_csv(d/'manifest.csv', keep_default_na=False, dtype=str)
    i = df.index[df.split == 'train'][0]; df.loc[i, 'label'] = 'without_mask' if df.label[i] == 'with_mask' else 'with_mask'
    df.to_csv(d/'manifest.csv', index=False)
    return out

# case: (data, extra CLI arguments, what the message must say)
UNTRAINABLE = {
    'cut_manifest': ('cut_manifest', [], 'the manifest was cut or edited after prepare wrote it'),
    'one_class': ('one_class', [], '0 without_mask in train, 0 without_mask in valid'),
    'no_valid': ('no_valid', [], '0 with_mask in valid, 0 without_mask in valid'),
    'missing_columns': ('missing_columns', [], 'no column split, cache'),
    'edited_label': ('edited_label', [], 'its sha256 is not the manifest_sha256 in report.json'),
    'limit_too_small': (None, ['--limit', '6'], 'too few images to train a classifier with limit=6'),
}

def _args(kw:list)->dict: return {k.lstrip('-'): int(v) for k, v in zip(kw[::2], kw[1::2])}

@pytest.mark.parametrize('case', list(UNTRAINABLE))
def test_train_refuses_untrainable_data(bad_data, prep, tmp, case):
    from mask_recog.cli import train_cli
    key, extra, says = UNTRAINABLE[case]
    data = bad_data[key] if key else prep
    out = tmp/'out'/case
    with pytest.raises(SystemExit) as e: train_cli(str(data), str(out), 'resnet18', size=32, epochs=1, lr='1e-3', no_pretrained=True, device='cpu', **_args(extra))
    msg = one_line(str(e.value), 'mask-recog-train')
    assert f"mask-recog-train: {data/'manifest.csv'}: " in msg and says in msg, msg
    assert 'mask-recog-prepare' in msg or '--limit' in extra, msg  # the fix
    assert not out.parent.exists() or not list(out.parent.iterdir())  # nothing written, no staging folder either

@pytest.mark.parametrize('case', ['one_class', 'cut_manifest'])
def test_train_process_exits_nonzero(bad_data, tmp, cmds, case):
    "As a process: exit 1, one line, no model.json or model.safetensors anywhere (a one-class source once left a model that labelled a bare face with_mask)"
    data, out = bad_data[UNTRAINABLE[case][0]], tmp/'out-cli'/case
    r = run(cmds['train'], data, '--out', out, '--arch', 'resnet18', '--size', '32', '--epochs', '1', '--lr', '1e-3', '--no-pretrained', '--device', 'cpu')
    assert r.returncode == 1 and r.stdout == '', (r.returncode, r.stdout, r.stderr[-3000:])
    msg = one_line(r.stderr.strip().splitlines()[-1], 'mask-recog-train')
    assert UNTRAINABLE[case][2] in msg and str(data/'manifest.csv') in msg, msg
    assert not out.exists() and not (out.parent.exists() and list(out.parent.iterdir()))

# ---------------------------------------------------------------- a model folder is one unit

def test_retrain_replaces_the_folder_whole(model, prep, tmp, face):
    "Training over a model folder removes what was made from the old weights (exports, evaluations) instead of leaving it beside the new ones"
    from mask_recog.cli import train_cli
    from mask_recog.inference import Classifier
    d = tmp/'unit'; shutil.copytree(model, d)
    for f in ['model.onnx', 'model.int8.onnx', 'export.json']: (d/f).write_bytes(b'made from the old weights')
    (d/'eval'/'faces').mkdir(parents=True); (d/'eval'/'faces'/'metrics.json').write_text('{}')
    old_sha = json.loads((d/'model.json').read_text())['weights_sha256']
    train_cli(str(prep), str(d), 'resnet18', size=32, epochs=1, lr='1e-3', no_pretrained=True, device='cpu', seed=3)
    assert sorted(p.name for p in d.iterdir()) == ['history.csv', 'metrics.json', 'model.json', 'model.pkl', 'model.safetensors']
    assert sorted(p.name for p in tmp.iterdir() if p.name.startswith('.unit')) == []  # no staging or old folder left beside it
    meta = json.loads((d/'model.json').read_text())
    assert meta['weights_sha256'] != old_sha and Classifier(d, device='cpu').predict(str(face))['label'] in ('with_mask', 'without_mask')

def test_train_refuses_a_folder_that_is_not_a_model(prep, tmp):
    from mask_recog.cli import train_cli
    d = tmp/'mine'; d.mkdir(); (d/'notes.txt').write_text('my notes')
    with pytest.raises(SystemExit) as e: train_cli(str(prep), str(d), 'resnet18', size=32, epochs=1, lr='1e-3', no_pretrained=True, device='cpu')
    assert 'holds files but no model' in one_line(str(e.value), 'mask-recog-train')
    assert [p.name for p in d.iterdir()] == ['notes.txt']
