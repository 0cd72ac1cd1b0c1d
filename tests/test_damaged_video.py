"A damaged or truncated video: mask-recog-detect reads past the damage and says what was lost (issue 25)"
import os, json, subprocess
from pathlib import Path
import cv2, numpy as np, pytest
from mask_recog.core import sample_path
from support import untrained_model

@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    "An untrained classifier: enough for the mechanics"
    return untrained_model(tmp_path_factory.mktemp('model')/'untrained')

def _video(path:Path, fourcc:str, n:int=60)->Path:
    "A clip of `n` frames panning across the real sample scenes (face-mask-853, CC0)"
    photos = sorted((sample_path('scenes')/'images').glob('*.jpg'))
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 15, (320, 240))
    for k in range(n):
        im = cv2.imread(str(photos[(k // 30) % len(photos)])); h, w = im.shape[:2]
        x = int((w - 240) * (k % 30) / 29) if w > 240 else 0
        vw.write(cv2.resize(im[:, x:x + max(240, min(w, 320))], (320, 240)))
    vw.release(); return path

def _detect(video, model_dir, detector_models, tmp_path):
    env = {**os.environ, 'MASK_RECOG_MODELS': str(detector_models), 'MASK_RECOG_HOME': str(tmp_path/'home')}
    return subprocess.run(['mask-recog-detect', str(video), '--model', str(model_dir), '--detect-every', '1'], capture_output=True, text=True, timeout=600, env=env)

def test_damaged_middle_is_skipped_and_said(model_dir, detector_models, tmp_path):
    "The middle fifth of an MP4's bytes overwritten: the frames after it are still processed, and the summary counts the undecodable ones"
    whole = _video(tmp_path/'whole.mp4', 'mp4v').read_bytes(); L = len(whole)
    junk = bytes(range(256)) * (L // 5 // 256)
    bad = tmp_path/'damaged.mp4'; bad.write_bytes(whole[:2 * L // 5] + junk + whole[2 * L // 5 + len(junk):])
    r = _detect(bad, model_dir, detector_models, tmp_path)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    frames = [json.loads(l)['frame'] for l in r.stdout.splitlines() if '"faces"' in l]
    assert frames == sorted(frames) and max(frames) >= 50, frames          # read on past the damage to the end (it used to stop at it)
    assert 'frames could not be decoded (left out)' in r.stderr and 'declared by the container' in r.stderr, r.stderr[-1500:]

def test_truncated_file_says_it_ends_early(model_dir, detector_models, tmp_path):
    "An AVI cut at 60%: what was there is processed, and the command says how many of the declared frames were not found"
    whole = _video(tmp_path/'whole.avi', 'MJPG').read_bytes()
    cut = tmp_path/'cut.avi'; cut.write_bytes(whole[:3 * len(whole) // 5])
    r = _detect(cut, model_dir, detector_models, tmp_path)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    n = sum('"faces"' in l for l in r.stdout.splitlines())
    assert 0 < n < 60 and f'{60 - n} of the 60 frames its container declares were not found' in r.stderr, (n, r.stderr[-1500:])

def test_intact_video_says_nothing(model_dir, detector_models, tmp_path):
    r = _detect(_video(tmp_path/'whole.mp4', 'mp4v'), model_dir, detector_models, tmp_path)
    assert r.returncode == 0 and sum('"faces"' in l for l in r.stdout.splitlines()) == 60 and 'warning' not in r.stderr, r.stderr[-1500:]
