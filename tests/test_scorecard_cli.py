"`mask-recog-scorecard` as users run it: bad arguments give one line naming the problem; a real (untrained) model is scored on a prepared sample with a scene source."
import json, subprocess
from pathlib import Path
import pytest
from conftest import console_script, untrained_model

@pytest.fixture(scope='module')
def cmd(tmp_path_factory): return console_script('mask-recog-scorecard', 'mask_recog.scorecard', 'scorecard_cli', tmp_path_factory.mktemp('sc'))

def run(cmd, *args, **kw): return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=600, **kw)

def test_no_model(cmd):
    r = run(cmd)
    assert r.returncode == 1 and r.stderr.strip() == 'mask-recog-scorecard: name at least one model folder (--model A or --model A,B)', r.stderr

def test_not_a_model_folder(cmd, tmp_path):
    r = run(cmd, '--model', tmp_path)
    assert r.returncode == 1 and 'no model.json: not a model folder' in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_model_without_its_data(cmd, tmp_path):
    m = untrained_model(tmp_path/'m')
    r = run(cmd, '--model', m)
    assert r.returncode == 1 and 'name a prepared folder with --data' in r.stderr, r.stderr

def test_scores_with_progress(cmd, small_real_set, tmp_path):
    "A real run on a prepared set of faces (no scene source: crops only): the table on stdout, the crops counted against their total on stderr"
    from mask_recog.data import prepare, load_split
    prep = tmp_path/'faces'
    prepare(small_real_set, prep, progress=False, workers=1)
    r = run(cmd, '--model', untrained_model(tmp_path/'m'), '--data', prep, '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('| ') and 'images: ' not in r.stdout, r.stdout   # stdout: the Markdown table alone
    n = len(load_split(prep, 'test'))                                      # every test crop scored once (an untrained model trained on none)
    bar = [l for l in r.stderr.splitlines() if l.startswith('images: ')]   # stderr is a pipe here: the bar's first and last lines
    assert bar[0].startswith(f'images: 0.00% [0/{n} ') and bar[-1].startswith(f'images: 100.00% [{n}/{n} '), r.stderr
