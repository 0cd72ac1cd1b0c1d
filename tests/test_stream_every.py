"`mask-recog-detect --detect-every K`, run as a user runs it: a video panning across a real scene, the detector on one frame in K, the faces followed in between."
import json, os, subprocess
import numpy as np, cv2, pytest
from conftest import console_script, is_full
from mask_recog.detect import FACE_KEYS

def run(cli, *args, env=None, timeout=180):
    return subprocess.run([*cli, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)

def records(out): return [json.loads(l) for l in out.splitlines() if l.strip()]

def clockless(out):
    "The records of `out` without their clock (`time`, `first_seen`): what two runs on one file share"
    return [{k: v for k, v in x.items() if k not in ('time', 'first_seen', 'best')} | ({'best': {k: v for k, v in x['best'].items() if k != 'time'}} if 'best' in x else {}) for x in records(out)]

@pytest.fixture(scope='module')
def cli(tmp_path_factory): return console_script('mask-recog-detect', 'mask_recog.streams', 'detect_cli', tmp_path_factory.mktemp('bin'))

@pytest.fixture(scope='module')
def env(detector_models, tmp_path_factory):
    return {**os.environ, 'MASK_RECOG_MODELS': str(detector_models), 'MASK_RECOG_HOME': str(tmp_path_factory.mktemp('home'))}

@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    "An untrained classifier, the same in every run (seeded): enough for the mechanics"
    import torch
    from mask_recog.model import build_model, save_model
    torch.manual_seed(0)
    return save_model(build_model('resnet18').eval(), {'arch': 'resnet18', 'size': 64}, tmp_path_factory.mktemp('model')/'untrained')

@pytest.fixture(scope='module')
def pan(scenes, tmp_path_factory):
    "A 2-s video (30 frames, 15 frames/s) panning across a real scene, and its labelled boxes in each frame"
    from mask_recog.track import pan_frames, write_video
    from mask_recog.detect import scan_scenes, face_box
    photo = 'images/train/crowd_mask163.jpg' if is_full(scenes) else 'images/train/scene00.jpg'  # two faces ~100 px wide; four sample faces
    img = cv2.imread(str(scenes/photo)); h, w = img.shape[:2]
    boxes = [face_box(it['box'], w, h) for it in scan_scenes(scenes)[0] if it['path'] == photo]
    frames, moved = pan_frames(img, boxes, n=30)
    return write_video(frames, tmp_path_factory.mktemp('pan')/'pan.mp4'), moved

def face_tracks(lines, moved):
    "Per labelled face: the track ids of the faces matching it (IoU ≥ 0.3), frame by frame, and how many of them were tracked, not detected"
    from mask_recog.detect import match_boxes
    out = {}
    for fr, bs in zip(lines, moved):
        m = match_boxes(np.asarray(bs, float), np.array([f['box'] for f in fr['faces']], float).reshape(-1, 4), 0.3)
        for k, j in m.items(): out.setdefault(k, []).append((fr['faces'][j]['track'], fr['faces'][j].get('tracked', False)))
    return out

def test_detect_every_keeps_the_events(cli, pan, model_dir, env):
    "With the detector on one frame in 3, every frame still has its line, the frames between carry tracked faces, and each labelled face's events are those of K = 1, in kind and order"
    vid, moved = pan
    one, plain, k3 = [run(cli, '--model', model_dir, vid, '--events', *extra, env=env) for extra in [('--detect-every', 1), (), ('--detect-every', 3)]]
    for r in (one, plain, k3): assert r.returncode == 0, r.stderr
    assert clockless(plain.stdout) == clockless(k3.stdout)                   # K = 3 is the default (DETECT_EVERY); only the clock differs
    runs = {}
    for K, r in [(1, one), (3, k3)]:
        recs = records(r.stdout)
        lines, evs = [x for x in recs if 'faces' in x], [x for x in recs if 'event' in x]
        assert [x['frame'] for x in lines] == list(range(30))               # a line for every frame, detected or not
        runs[K] = lines, evs, face_tracks(lines, moved)
    lines1, evs1, ft1 = runs[1]; lines3, evs3, ft3 = runs[3]
    assert not any(f.get('tracked') for x in lines1 for f in x['faces'])     # K = 1: nothing tracked
    tracked = [x['frame'] for x in lines3 if x['faces'] and all(f.get('tracked') is True for f in x['faces'])]
    detected = [x['frame'] for x in lines3 if not any(f.get('tracked') for f in x['faces'])]
    assert len(tracked) >= 15 and set(tracked) | set(detected) == set(range(30)), (tracked, detected)  # about two frames in three tracked
    for x in lines3:
        for f in x['faces']:
            if f.get('tracked'): assert {'box', 'score', 'label', 'prob_with_mask', 'landmarks', 'track', 'tracked'} <= set(f) <= set(FACE_KEYS) and len(f['box']) == 4
    assert len(ft1) == len(moved[0]) and len(ft3) == len(moved[0])
    kinds = lambda evs, tid: [e['event'] for e in evs if e['track'] == tid]
    for k in ft1:
        ids1, ids3 = {t for t, _ in ft1[k]}, {t for t, _ in ft3[k]}
        assert len(ids1) == 1 and len(ids3) == 1, (k, ft1[k], ft3[k])       # one track per labelled face, all along
        assert len(ft3[k]) >= 24 and sum(tr for _, tr in ft3[k]) >= 12      # found in most frames, most of them by tracking
        seq1, seq3 = kinds(evs1, *ids1), kinds(evs3, *ids3)
        assert seq1[0] == 'started' and seq1[-1] == 'ended' and seq3 == seq1, (k, seq1, seq3)
    first = lambda evs, ft, k: next(e['frame'] for e in evs if e['track'] == ft[k][0][0])
    for k in ft1: assert first(evs1, ft1, k) <= first(evs3, ft3, k) <= first(evs1, ft1, k) + 3 * 2   # decided later, by at most K × (min_frames − 1) frames

def test_detect_every_bad_uses(cli, model_dir, scenes, scene_photos, env):
    r = run(cli, '--model', model_dir, scenes/scene_photos[0], '--detect-every', 0, env=env)
    assert r.returncode != 0 and '--detect-every 0: must be 1 or more' in r.stderr and 'Traceback' not in r.stderr
    r = run(cli, '--model', model_dir, scenes/scene_photos[0], '--detect-every', 2, env=env)   # one photo: no frames to follow faces across
    assert r.returncode != 0 and '--detect-every follows faces across the frames' in r.stderr and 'Traceback' not in r.stderr
