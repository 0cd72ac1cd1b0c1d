"Writes onto a disk that fills: said, exit 1 where the output is the job, nothing half-written left behind; a camera's crops cost only the crops (issue 25)"
import os, json, subprocess, contextlib
from pathlib import Path
import cv2, pytest
from mask_recog.core import sample_path
from support import untrained_model

@contextlib.contextmanager
def small_disk(path:Path, kb:int):
    "A tmpfs of `kb` KB mounted at `path` for the test (root only; the test skips, saying why, where it cannot mount)"
    path.mkdir(parents=True)
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={kb}k', 'tmpfs', str(path)], capture_output=True, text=True)
    if r.returncode: pytest.skip(f'cannot mount a {kb} KB tmpfs here (root is needed): {r.stderr.strip()}')
    try: yield path
    finally: subprocess.run(['umount', '-l', str(path)], capture_output=True)

@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    return untrained_model(tmp_path_factory.mktemp('model')/'untrained')

@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    "60 frames of the real sample scenes, 320×240"
    photos = sorted((sample_path('scenes')/'images').glob('*.jpg'))
    p = tmp_path_factory.mktemp('clip')/'scenes.mp4'
    vw = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*'mp4v'), 15, (320, 240))
    for k in range(60): vw.write(cv2.resize(cv2.imread(str(photos[(k // 20) % len(photos)])), (320, 240)))
    vw.release(); return p

def _detect(args, detector_models, tmp_path):
    env = {**os.environ, 'MASK_RECOG_MODELS': str(detector_models), 'MASK_RECOG_HOME': str(tmp_path/'home')}
    return subprocess.run(['mask-recog-detect', *map(str, args)], capture_output=True, text=True, timeout=600, env=env)

def test_video_out_on_a_full_disk(clip, model_dir, detector_models, tmp_path):
    "--out VIDEO on a 96 KB disk: OpenCV's writer drops what it cannot write without an error; the command reads the file back, says so, exits 1, and leaves nothing"
    with small_disk(tmp_path/'disk', 96) as disk:
        r = _detect([clip, '--model', model_dir, '--out', disk/'annotated.mp4'], detector_models, tmp_path)
        left = sorted(p.name for p in disk.iterdir())
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert 'annotated.mp4: the video could not be written whole' in r.stderr and 'free space' in r.stderr and 'wrote' not in r.stderr, r.stderr[-1500:]
    assert sum('"faces"' in l for l in r.stdout.splitlines()) == 60    # the frame lines all came out before
    assert left == [], left                                             # no half video, no temp file

def test_video_out_with_room(clip, model_dir, detector_models, tmp_path):
    "The same with room enough: the video is checked, renamed into place and said"
    with small_disk(tmp_path/'disk', 20_000) as disk:
        r = _detect([clip, '--model', model_dir, '--out', disk/'annotated.mp4'], detector_models, tmp_path)
        assert r.returncode == 0 and 'wrote' in r.stderr, r.stderr[-1500:]
        cap = cv2.VideoCapture(str(disk/'annotated.mp4')); n = cap.get(cv2.CAP_PROP_FRAME_COUNT); cap.release()
        assert n == 60 and sorted(p.name for p in disk.iterdir()) == ['annotated.mp4']

def test_best_crops_on_a_full_disk(clip, model_dir, detector_models, tmp_path):
    "--events --best-crops on a disk that is already full: the events all come, without crops, and the failure is said once"
    with small_disk(tmp_path/'disk', 16) as disk:
        with contextlib.suppress(OSError): (disk/'filler').write_bytes(b'\0' * (64 << 10))   # fill it
        r = _detect([clip, '--model', model_dir, '--events', '--best-crops', disk/'crops', '--detect-every', '1'], detector_models, tmp_path)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    events = [json.loads(l) for l in r.stdout.splitlines() if '"event"' in l]
    assert events and all(e.get('crop') is None for e in events if e['event'] in ('started', 'ended')), events[:3]
    assert r.stderr.count('cannot write the best-view crop') == 1, r.stderr[-1500:]
