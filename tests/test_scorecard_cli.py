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
    assert r.returncode == 1 and r.stderr.strip() == 'mask-recog-scorecard: name at least one model folder', r.stderr

def test_not_a_model_folder(cmd, tmp_path):
    r = run(cmd, tmp_path)
    assert r.returncode == 1 and 'no model.json: not a model folder' in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_model_without_its_data(cmd, tmp_path):
    m = untrained_model(tmp_path/'m')
    r = run(cmd, m)
    assert r.returncode == 1 and 'name a prepared folder with --data' in r.stderr, r.stderr
