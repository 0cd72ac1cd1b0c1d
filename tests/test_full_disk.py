"Writes onto a disk that fills: said, exit 1 where the output is the job, nothing half-written left behind; a camera's crops cost only the crops (issue 25)"
import os, re, json, time, shutil, signal, threading, subprocess, contextlib, http.server
from pathlib import Path
import cv2, pytest
from mask_recog.core import sample_path
from mask_recog.streams import video_frames
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

def test_video_out_into_a_read_only_folder(clip, model_dir, detector_models, tmp_path):
    "--out VIDEO on a read-only disk: one line naming the folder and the fix, exit 1 (was a traceback from the temp file)"
    with small_disk(tmp_path/'disk', 1024) as disk:
        assert subprocess.run(['mount', '-o', 'remount,ro', str(disk)]).returncode == 0
        r = _detect([clip, '--model', model_dir, '--out', disk/'annotated.mp4'], detector_models, tmp_path)
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert f"{disk}: cannot write annotated.mp4: the disk is read-only; make it writable" in r.stderr and 'wrote' not in r.stderr, r.stderr[-1500:]

def test_best_crops_on_a_full_disk(clip, model_dir, detector_models, tmp_path):
    "--events --best-crops on a disk that is already full: the events all come, without crops, and the failure is said once"
    with small_disk(tmp_path/'disk', 16) as disk:
        with contextlib.suppress(OSError): (disk/'filler').write_bytes(b'\0' * (64 << 10))   # fill it
        r = _detect([clip, '--model', model_dir, '--events', '--best-crops', disk/'crops', '--detect-every', '1'], detector_models, tmp_path)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    events = [json.loads(l) for l in r.stdout.splitlines() if '"event"' in l]
    assert events and all(e.get('crop') is None for e in events if e['event'] in ('started', 'ended')), events[:3]
    assert r.stderr.count('cannot write the best-view crop') == 1, r.stderr[-1500:]

# ---------------------------------------------------------------- prepare, train and export: the disk, never the inputs

def _cli(name, *args, tmp_path):
    env = {**os.environ, 'MASK_RECOG_HOME': str(tmp_path/'home')}
    return subprocess.run([name, *map(str, args)], capture_output=True, text=True, timeout=600, env=env)

def _one_line(r, prog):
    "exit 1 and one line naming the command, no traceback"
    msg = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''
    assert r.returncode == 1 and msg.startswith(f'{prog}: ') and 'Traceback' not in r.stderr, (r.returncode, r.stderr[-2000:])
    return msg

def _left(folder:Path)->list:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob('*'))

def test_prepare_checks_space_first(tmp_path):
    "A cache disk too small for the estimate: refused before any file is read, with the estimate, the free space and the fix; nothing written"
    with small_disk(tmp_path/'disk', 256) as disk:
        r = _cli('mask-recog-prepare', sample_path('faces'), '--out', disk/'prep', tmp_path=tmp_path)
        msg, left = _one_line(r, 'mask-recog-prepare'), _left(disk)
    assert re.search(rf"{re.escape(str(disk/'prep'/'cache'))}: cannot write the cached copies of \d+ files: it needs about [\d.]+ MB and 0.2 MB are free; free space there", msg), msg
    assert 'quarantined' not in r.stdout + r.stderr and left in ([], ['prep']), left

def test_prepare_when_the_cache_disk_fills(tmp_path, monkeypatch):
    "The estimate passes (set to 1 byte a file here) but the disk fills halfway: a `CannotWrite` naming the cache folder, not 118 images 'that cannot be read'; what this run cached is removed, no temp file stays"
    from mask_recog import data
    from mask_recog.core import CannotWrite
    monkeypatch.setattr(data, 'CACHE_FILE_BYTES', 1)
    with small_disk(tmp_path/'disk', 256) as disk:
        with pytest.raises(CannotWrite) as e: data.prepare(sample_path('faces'), disk/'prep', workers=1, progress=False)
        left = [str(p.relative_to(disk)) for p in disk.rglob('*') if not p.is_dir()]
    assert str(e.value).startswith(str(disk/'prep'/'cache')) and 'the disk is full' in str(e.value), e.value
    assert left == [], left  # no cached copy, no temp file, no manifest

def test_prepare_when_the_manifest_does_not_fit(tmp_path, monkeypatch):
    "The cached copies fit but the manifest and report do not: refused before either is written, the copies this run cached removed, the earlier manifest as it was"
    from mask_recog import data
    from mask_recog.core import CannotWrite
    monkeypatch.setattr(data, 'CACHE_FILE_BYTES', 1)
    with small_disk(tmp_path/'disk', 1200) as disk:
        (disk/'prep').mkdir(); (disk/'prep'/'manifest.csv').write_text('path,label\nearlier.jpg,with_mask\n')
        with pytest.raises(CannotWrite) as e: data.prepare(sample_path('faces'), disk/'prep', workers=1, progress=False)
        left = [str(p.relative_to(disk)) for p in disk.rglob('*') if not p.is_dir()]
        earlier = (disk/'prep'/'manifest.csv').read_text()
    assert str(e.value).startswith(f"{disk/'prep'}: cannot write the manifest and report: it needs about"), e.value
    assert left == ['prep/manifest.csv'] and earlier == 'path,label\nearlier.jpg,with_mask\n', left

def test_killed_export_is_cleaned_up(model_dir, tmp_path):
    "Temp files a killed export left in the model folder go at the next export; a running writer's stay"
    from mask_recog.inference import export_onnx
    d = tmp_path/'model'; shutil.copytree(model_dir, d)
    gone = subprocess.run(['python', '-c', 'import os; print(os.getpid())'], capture_output=True, text=True).stdout.strip()  # a process that has ended
    (d/f'.model.onnx.{gone}-k2j4.tmp').write_bytes(b'\0' * (1 << 20)); (d/f'.model.onnx.{os.getpid()}-live.tmp').write_bytes(b'')
    export_onnx(d)
    assert sorted(p.name for p in d.iterdir() if p.name.startswith('.')) == [f'.model.onnx.{os.getpid()}-live.tmp'] and (d/'model.onnx').exists()

@pytest.fixture(scope='module')
def sample_prep(tmp_path_factory):
    "The shipped sample of faces, prepared"
    from mask_recog.data import prepare
    out = tmp_path_factory.mktemp('prep')/'prep'; prepare(sample_path('faces'), out, progress=False); return out

def test_train_checks_space_first(sample_prep, tmp_path):
    "Training onto a disk without room for the model: refused before the first epoch, with the estimate; no staging folder left"
    with small_disk(tmp_path/'disk', 1024) as disk:
        r = _cli('mask-recog-train', sample_prep, '--out', disk/'model', '--arch', 'resnet18', '--size', '32', '--epochs', '1', '--lr', '1e-3', '--no-pretrained', '--device', 'cpu', tmp_path=tmp_path)
        msg, left = _one_line(r, 'mask-recog-train'), _left(disk)
    assert "cannot write the model folder model: it needs about" in msg and str(disk/'.model') not in msg and 'free space there' in msg and 'epoch' not in r.stdout, msg
    assert left == [], left

def test_export_into_a_read_only_folder(model_dir, tmp_path):
    "Export where the model folder is on a read-only disk: one line, the fix, exit 1; the model is as it was"
    with small_disk(tmp_path/'disk', 100_000) as disk:
        shutil.copytree(model_dir, disk/'model')
        before = _left(disk)
        assert subprocess.run(['mount', '-o', 'remount,ro', str(disk)]).returncode == 0
        r = _cli('mask-recog-export', '--model', disk/'model', tmp_path=tmp_path)
        msg, left = _one_line(r, 'mask-recog-export'), _left(disk)
    assert f"{disk/'model'}: cannot write model.onnx: the disk is read-only; make it writable" in msg, msg
    assert left == before, left

def test_export_onto_a_full_disk(model_dir, tmp_path):
    "Export onto a disk without room for the ONNX file: refused before writing, with the estimate; the model is as it was"
    size = sum(p.stat().st_size for p in model_dir.iterdir())
    with small_disk(tmp_path/'disk', size // 1024 + 512) as disk:
        shutil.copytree(model_dir, disk/'model')
        before = _left(disk)
        r = _cli('mask-recog-export', '--model', disk/'model', tmp_path=tmp_path)
        msg, left = _one_line(r, 'mask-recog-export'), _left(disk)
    assert f"{disk/'model'}: cannot write the ONNX export: it needs about" in msg and 'free space there' in msg, msg
    assert left == before, left

def test_killed_train_is_cleaned_up(sample_prep, tmp_path):
    "A train killed while it writes leaves its staging folder; the next write of that model folder removes it, and the model path never stands empty"
    from mask_recog.model import build_model, save_model, load_model
    out = tmp_path/'models'/'m'
    save_model(build_model('resnet18'), {'arch': 'resnet18', 'size': 32}, out)
    p = subprocess.Popen(['mask-recog-train', str(sample_prep), '--out', str(out), '--arch', 'resnet18', '--size', '32', '--epochs', '30', '--lr', '1e-3',
                          '--no-pretrained', '--device', 'cpu'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, 'MASK_RECOG_HOME': str(tmp_path/'home')})
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.parent.glob(f'.m.new-{p.pid}-*')): time.sleep(0.05)
    time.sleep(1); p.kill(); p.wait()
    staged = list(out.parent.glob(f'.m.new-{p.pid}-*'))
    assert staged and (out/'model.json').exists(), staged       # killed while writing: its staging folder stays, the old model too
    save_model(build_model('resnet18'), {'arch': 'resnet18', 'size': 32}, out)   # the next write
    assert sorted(x.name for x in out.parent.iterdir()) == ['m'] and load_model(out)[1]['arch'] == 'resnet18'

class _Camera(http.server.BaseHTTPRequestHandler):
    "An MJPEG camera of the real sample scenes, 25 frames/s, until `stop`"
    frames, stop = [], threading.Event()
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200); self.send_header('Content-Type', 'multipart/x-mixed-replace; boundary=frame'); self.end_headers()
        k = 0
        try:
            while not self.stop.is_set():
                jpg = self.frames[k % len(self.frames)]
                self.wfile.write(b'--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n' % (len(jpg), jpg)); self.wfile.flush()
                k += 1; time.sleep(0.04)
        except (BrokenPipeError, ConnectionResetError): pass

def test_camera_out_on_a_filling_disk(model_dir, detector_models, tmp_path):
    "A stream's --out on a disk that fills: recording stops before the disk is full (said once, what was recorded kept), the frame lines go on, the frames not written are counted"
    photos = sorted((sample_path('scenes')/'images').glob('*.jpg'))
    _Camera.frames = [cv2.imencode('.jpg', cv2.resize(cv2.imread(str(p)), (320, 240)))[1].tobytes() for p in photos]
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Camera); srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = {**os.environ, 'MASK_RECOG_MODELS': str(detector_models), 'MASK_RECOG_HOME': str(tmp_path/'home')}
    lines, errs = [], []
    with small_disk(tmp_path/'disk', 1100) as disk:
        p = subprocess.Popen(['mask-recog-detect', f'http://127.0.0.1:{srv.server_address[1]}/cam.mjpg', '--model', str(model_dir), '--out', str(disk/'cam.mp4')],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        readers = [threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True), threading.Thread(target=lambda: errs.extend(p.stderr), daemon=True)]
        for t in readers: t.start()
        try:
            deadline, seen = time.time() + 120, None
            while time.time() < deadline:
                if seen is None and any('not written from here on' in e for e in errs): seen = len(lines)
                if seen is not None and len(lines) >= seen + 10: break
                time.sleep(0.1)
            p.send_signal(signal.SIGINT); p.wait(timeout=30)
        finally:
            if p.poll() is None: p.kill()
            _Camera.stop.set(); srv.shutdown(); srv.server_close()
        for t in readers: t.join(5)
        err = ''.join(errs)
        kept = sorted(x.name for x in disk.iterdir())
        n = video_frames(disk/'cam.mp4', 10_000) if kept == ['cam.mp4'] else 0
    assert 'Traceback' not in err and err.count('not written from here on') == 1, err[-2000:]
    assert seen is not None and len(lines) >= seen + 10, (seen, len(lines), err[-1500:])          # the frame lines went on
    assert re.search(r'; (\d+) frames not written to --out', err) and 'interrupted' in err, err[-1500:]  # counted in the summary
    assert kept == ['cam.mp4'] and n >= 1 and f'its first {n} frames are kept' in err, (kept, n, err[-1500:])  # what was recorded reads back
