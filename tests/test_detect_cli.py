"The `mask-recog-detect` command, run as a user runs it: a separate process on real scenes, a folder, a video file and a local MJPEG stream that drops."
import json, os, re, signal, subprocess, sys, threading, time, http.server, shutil, socket
from pathlib import Path
import numpy as np, cv2, pytest
from conftest import console_script, is_full

KEYS = {'box', 'score', 'label', 'prob_with_mask', 'landmarks'}  # the keys a face always has in its JSON form (`Face.to_dict`)

@pytest.fixture(scope='session')
def cli(tmp_path_factory): return console_script('mask-recog-detect', 'mask_recog.streams', 'detect_cli', tmp_path_factory.mktemp('bin'))

def run(cli, *args, env=None, timeout=120):
    return subprocess.run([*cli, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)

def records(out): return [json.loads(l) for l in out.splitlines() if l.strip()]

def timed(cli, *args, **kw):
    "`run`, and the Unix times just before and just after it, rounded as `time` is"
    t0 = round(time.time(), 3); r = run(cli, *args, **kw); return r, t0, round(time.time(), 3)

def bar_lines(err, what='frames'):
    "The progress bar's lines on a stderr that is no terminal: its first line, the periodic ones, its last"
    return [l for l in err.splitlines() if l.startswith(what + ': ')]

def n_frames(path):
    cap, n = cv2.VideoCapture(str(path)), 0
    while cap.read()[0]: n += 1
    cap.release(); return n

@pytest.fixture(scope='session')
def model_dir(tmp_path_factory):
    "An untrained classifier: enough for the mechanics"
    from mask_recog.model import build_model, save_model
    return save_model(build_model('resnet18'), {'arch': 'resnet18', 'size': 64}, tmp_path_factory.mktemp('model')/'untrained')

@pytest.fixture(scope='session')
def env(detector_models, tmp_path_factory):
    return {**os.environ, 'MASK_RECOG_MODELS': str(detector_models), 'MASK_RECOG_HOME': str(tmp_path_factory.mktemp('home'))}

@pytest.fixture(scope='session')
def scene_frames(scenes, scene_photos):
    "Three scenes, as 320×240 BGR frames"
    return [cv2.resize(cv2.imread(str(scenes/s)), (320, 240)) for s in scene_photos]

def test_image(cli, scenes, scene_photos, model_dir, env, tmp_path):
    src = scenes/scene_photos[0]
    r, t0, t1 = timed(cli, '--model', model_dir, src, '--out', tmp_path/'annotated.png', env=env)
    assert r.returncode == 0, r.stderr
    [rec] = records(r.stdout)
    assert (rec['source'], rec['frame'], rec['pos']) == (str(src), 0, None)   # an image has no position...
    assert t0 <= rec['time'] <= t1                                             # ...and the clock: when it was read
    assert len(rec['faces']) >= 2 and all(set(f) == KEYS for f in rec['faces'])
    for f in rec['faces']:
        assert len(f['box']) == 4 and all(isinstance(v, int) for v in f['box']) and 0 < f['score'] <= 1
        assert f['label'] in ('with_mask', 'without_mask') and 0 <= f['prob_with_mask'] <= 1
    assert cv2.imread(str(tmp_path/'annotated.png')).shape == cv2.imread(str(src)).shape
    assert 'frames/s' in r.stderr

def test_folder(cli, scenes, scene_photos, model_dir, env, tmp_path):
    d = tmp_path/'in'; (d/'sub').mkdir(parents=True)
    shutil.copy(scenes/scene_photos[0], d/'a.jpg'); shutil.copy(scenes/scene_photos[2], d/'sub'/'b.jpg')
    (d/'broken.jpg').write_bytes((scenes/scene_photos[1]).read_bytes()[:300])   # a truncated photo
    r = run(cli, '--model', model_dir, d, '--out', tmp_path/'out', env=env)
    assert r.returncode == 1 and '1 of 3 images failed' in r.stderr, r.stderr   # an image failed: exit status 1, the others processed
    assert [(Path(x['source']).name, 'error' in x) for x in records(r.stdout)] == [('a.jpg', False), ('broken.jpg', True), ('b.jpg', False)]
    assert f'skipped {d/"broken.jpg"}:' in r.stderr and '1 skipped' in r.stderr
    assert sorted(p.relative_to(tmp_path/'out').as_posix() for p in (tmp_path/'out').rglob('*.jpg')) == ['a.jpg', 'sub/b.jpg']
    bar = bar_lines(r.stderr, 'images')                                        # the folder's images counted on stderr
    assert bar[0].startswith('images: 0.00% [0/3 ') and bar[-1].startswith('images: 100.00% [3/3 '), r.stderr

def test_video(cli, scene_frames, model_dir, env, tmp_path):
    vid = tmp_path/'clip.mp4'
    vw = cv2.VideoWriter(str(vid), cv2.VideoWriter_fourcc(*'mp4v'), 10, (320, 240))
    for i in range(12): vw.write(np.roll(scene_frames[i % 2], 4 * i, axis=1))
    vw.release()
    r, t0, t1 = timed(cli, '--model', model_dir, vid, '--stride', 3, '--out', tmp_path/'out.mp4', env=env)
    assert r.returncode == 0, r.stderr
    recs = records(r.stdout)
    assert [(x['frame'], x['pos']) for x in recs] == [(0, 0.), (3, .3), (6, .6), (9, .9)]   # positions: the video's, 10 frames a second
    assert all(t0 <= x['time'] <= t1 for x in recs), (t0, t1, recs)                          # the clock: when each frame was read
    bar = bar_lines(r.stderr)                                                  # every frame read is counted, processed (--stride) or not
    assert bar[0].startswith('frames: 0.00% [0/12 ') and bar[-1].startswith('frames: 100.00% [12/12 '), r.stderr
    assert all(len(x['faces']) >= 1 for x in recs)
    assert n_frames(tmp_path/'out.mp4') == 12                     # every frame written, annotated with the last faces
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith('.')] == []   # no temp file left

class _MJPEG(http.server.BaseHTTPRequestHandler):
    "multipart/x-mixed-replace JPEG stream: the first connection drops after `first` frames, later ones run until `stop`"
    frames, first, fps, conns, stop = [], 5, 20, [], threading.Event()
    def log_message(self, *a): pass
    def do_GET(self):
        self.conns.append(time.time()); n = len(self.conns)
        self.send_response(200); self.send_header('Content-Type', 'multipart/x-mixed-replace; boundary=frame'); self.end_headers()
        k = 0
        try:
            while not self.stop.is_set() and (n > 1 or k < self.first):
                jpg = self.frames[k % len(self.frames)]
                self.wfile.write(b'--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n' % (len(jpg), jpg)); self.wfile.flush()
                k += 1; time.sleep(1 / self.fps)
        except (BrokenPipeError, ConnectionResetError): pass

def test_stream_drop_reconnect_and_ctrl_c(cli, scene_frames, model_dir, env, tmp_path):
    _MJPEG.frames = [cv2.imencode('.jpg', f)[1].tobytes() for f in scene_frames]
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _MJPEG); srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url, out = f'http://127.0.0.1:{srv.server_address[1]}/stream.mjpg', tmp_path/'stream.mp4'
    p = subprocess.Popen([*cli, '--model', str(model_dir), url, '--out', str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True); reader.start()
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not any(json.loads(l)['frame'] >= 9 for l in list(lines)): time.sleep(.1)
        p.send_signal(signal.SIGINT)                                   # Ctrl-C
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None: p.kill()
        _MJPEG.stop.set(); srv.shutdown(); srv.server_close()
    reader.join(5)
    recs = [json.loads(l) for l in lines]
    assert p.returncode == 0, err
    assert len(_MJPEG.conns) >= 2 and 'dropped after frame 4; reconnecting' in err      # the drop was seen and survived
    assert [x['frame'] for x in recs] == list(range(len(recs))) and len(recs) >= 10   # numbering continues across the reconnect
    assert all(x['source'] == url and x['time'] > 1e9 for x in recs)                  # the clock: Unix time
    pos = [x['pos'] for x in recs]                                     # the position: seconds since the stream's first frame, on across the reconnect
    assert pos[0] == 0 and pos == sorted(pos) and abs((pos[-1] - pos[0]) - (recs[-1]['time'] - recs[0]['time'])) < 0.25, recs
    assert not bar_lines(err)                                          # a stream has no end to count to: no bar
    assert any(x['faces'] for x in recs)
    assert 'interrupted:' in err and f'wrote {out}' in err
    assert n_frames(out) >= len(recs)                                  # the video was finalized, and renamed into place
    assert [q.name for q in tmp_path.iterdir() if q.name.startswith('.')] == []

def test_stream_gives_up(cli, model_dir, env):
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()   # a port nobody listens on
    r = run(cli, '--model', model_dir, f'http://127.0.0.1:{port}/cam.mjpg', '--retries', 1, env=env)
    assert r.returncode == 1 and 'gave up after 1 reconnect attempts' in r.stderr and 'Traceback' not in r.stderr

def test_clear_errors(cli, model_dir, tmp_path):
    r = run(cli, '--model', model_dir, tmp_path/'nowhere.mp4')
    assert r.returncode != 0 and 'nowhere.mp4: no such file or folder' in r.stderr and 'Traceback' not in r.stderr
    r = run(cli, '--model', model_dir, 'rtsp://127.0.0.1:1/cam', '--out', tmp_path/'x.png')
    assert r.returncode != 0 and 'annotated into a video file' in r.stderr and 'Traceback' not in r.stderr

def test_calibrate_then_detect(cli, scenes, scene_photos, model_dir, env, tmp_path):
    "`mask-recog-calibrate` on labelled photos writes a calibration that `mask-recog-detect --calibration` applies; a bad file is named"
    cal_cli = console_script('mask-recog-calibrate', 'mask_recog.detect', 'calibrate_cli', tmp_path)
    r = run(cal_cli, scenes, '--out', tmp_path/'cal.json', '--split', 'test', env=env)
    assert r.returncode == 0, r.stderr
    cal = json.loads((tmp_path/'cal.json').read_text())
    n = len([f for f in (scenes/'images'/'test').iterdir() if f.suffix in ('.jpg', '.png')])
    assert cal['fitted_on']['photos'] == n and cal['any']['faces'] >= 1
    bar = bar_lines(r.stderr, 'photos')                                        # the photos counted on stderr, against their total
    assert bar[0].startswith(f'photos: 0.00% [0/{n} ') and bar[-1].startswith(f'photos: 100.00% [{n}/{n} '), r.stderr
    if is_full(scenes):
        assert cal['fitted_on']['photos'] == 57 and cal['any']['faces'] >= 50
        assert 1.0 < cal['any']['sw'] < 1.3 and 0.02 < cal['any']['dy'] < 0.15  # the scenes' labels are wider and lower than detections
    src = scenes/scene_photos[0]
    plain, moved = run(cli, '--model', model_dir, src, env=env), run(cli, '--model', model_dir, src, '--calibration', tmp_path/'cal.json', env=env)
    assert plain.returncode == 0 and moved.returncode == 0, moved.stderr
    p, m = records(plain.stdout)[0]['faces'], records(moved.stdout)[0]['faces']
    assert len(p) == len(m) and [f['prob_with_mask'] for f in p] == [f['prob_with_mask'] for f in m]  # same faces, same labels
    from mask_recog.detect import calibrate_boxes
    assert [f['box'] for f in m] == [f['box'] for f in calibrate_boxes(p, cal, cv2.imread(str(src)).shape)]  # the fitted calibration, applied
    if is_full(scenes): assert all(b['box'][2] > a['box'][2] and b['box'][1] > a['box'][1] for a, b in zip(p, m))  # wider and lower
    (tmp_path/'bad.json').write_text('{"any": 1}')
    r = run(cli, '--model', model_dir, src, '--calibration', tmp_path/'bad.json', env=env)
    assert r.returncode != 0 and 'bad.json: not a box calibration' in r.stderr

def test_events_on_a_pan(cli, scenes, model_dir, env, tmp_path):
    "A 2-s video panning across a real scene, through --events: each labelled face keeps one track id; each track starts once and ends once"
    from mask_recog.track import pan_frames, write_video
    from mask_recog.detect import scan_scenes, face_box, match_boxes
    items = scan_scenes(scenes)[0]
    photo = 'images/train/crowd_mask163.jpg' if is_full(scenes) else 'images/train/scene00.jpg'  # two faces ~100 px wide; four sample faces
    img = cv2.imread(str(scenes/photo)); h, w = img.shape[:2]
    boxes = [face_box(it['box'], w, h) for it in items if it['path'] == photo]
    frames, moved = pan_frames(img, boxes, n=30)
    vid = write_video(frames, tmp_path/'pan.mp4')
    r, t0, t1 = timed(cli, '--model', model_dir, vid, '--events', '--camera', 'door', '--best-crops', tmp_path/'crops', '--out', tmp_path/'out.mp4', env=env)
    assert r.returncode == 0, r.stderr
    recs = records(r.stdout)
    lines, evs = [x for x in recs if 'faces' in x], [x for x in recs if 'event' in x]
    assert len(lines) == 30 and n_frames(tmp_path/'out.mp4') == 30
    for k in range(len(boxes)):   # the detection of labelled face k carries one track id through the pan
        ids = [fr['faces'][m[0]]['track'] for fr, bs in zip(lines, moved) if (m := match_boxes([bs[k]], [f['box'] for f in fr['faces']], 0.3))]
        assert len(ids) >= 24 and len(set(ids)) == 1, (k, ids)
    seqs = {}
    for e in evs: seqs.setdefault(e['track'], []).append(e['event'])
    assert len(seqs) >= len(boxes)
    for t, seq in seqs.items(): assert seq[0] == 'started' and seq[-1] == 'ended' and seq.count('started') == seq.count('ended') == 1, (t, seq)
    assert {e['camera'] for e in evs} == {'door'} and all(e['frame'] < 30 for e in evs)
    assert all(t0 <= e['time'] <= t1 and abs(e['pos'] - e['frame'] / 15) <= 1e-3 for e in evs), evs   # the clock, and the video's position (15 frames/s)
    for e in evs:   # a duration is a span of the video: from the frame the track was first seen in, whatever the pace of processing
        first = min(fr['frame'] for fr in lines if any(f.get('track') == e['track'] for f in fr['faces']))
        assert abs(e['duration_s'] - (e['frame'] - first) / 15) <= 2e-3, (e, first)
    assert sorted(p.name for p in (tmp_path/'crops').iterdir()) == sorted(f'door-{t}.jpg' for t in seqs)
    r = run(cli, '--model', model_dir, scenes/photo, '--events', env=env)   # one photo has no frames to follow faces across
    assert r.returncode != 0 and '--events follows faces across the frames' in r.stderr

@pytest.fixture(scope='module')
def sample_pan(tmp_path_factory):
    "A 2-s video (30 frames, 15 frames/s) panning across the shipped sample's photo maksssksksss96.jpg (four labelled faces, VOC boxes)"
    from mask_recog.core import sample_path
    from mask_recog.detect import scan_scenes, face_box
    from mask_recog.track import pan_frames, write_video
    scenes = sample_path('scenes')
    items = [it for it in scan_scenes(scenes)[0] if it['path'].endswith('maksssksksss96.jpg')]
    img = cv2.imread(str(scenes/items[0]['path'])); h, w = img.shape[:2]
    frames, _ = pan_frames(img, [face_box(it['box'], w, h) for it in items], n=30)
    return write_video(frames, tmp_path_factory.mktemp('pan96')/'pan96.mp4')

def test_events_only_with_progress(cli, sample_pan, model_dir, env):
    "--events-only: events alone on stdout; on stderr the frames counted against the container's total, ending at 30/30, and status lines"
    r, t0, t1 = timed(cli, '--model', model_dir, sample_pan, '--events-only', '--camera', 'door', '--status-every', 0.01, env=env)
    assert r.returncode == 0, r.stderr
    recs = records(r.stdout)
    assert recs and all('event' in x and 'faces' not in x for x in recs), r.stdout     # no frame line
    kinds = {}
    for e in recs: kinds.setdefault(e['track'], []).append(e['event'])
    assert all(k[0] == 'started' and k[-1] == 'ended' for k in kinds.values()), kinds  # --events-only implies --events
    assert all(t0 <= e['time'] <= t1 and abs(e['pos'] - e['frame'] / 15) <= 1e-3 and e['camera'] == 'door' for e in recs), recs
    assert all(0 <= e['duration_s'] <= e['pos'] for e in recs), recs
    bar = bar_lines(r.stderr)   # stderr is a pipe here: the first line, with the total read from the container, and the last
    assert bar[0].startswith('frames: 0.00% [0/30 ') and bar[-1].startswith('frames: 100.00% [30/30 '), r.stderr
    status = [l for l in r.stderr.splitlines() if l.startswith('status: ')]
    assert status and all(re.fullmatch(r'status: \d+ frames processed, [\d.]+ frames/s, \d+ faces, \d+ open tracks', l) for l in status), r.stderr

def test_alert_labels(cli, sample_pan, model_dir, env):
    "--alert: which labels' events carry \"alert\": true (default: without_mask, the one alerting class a two-class model has); a label the model lacks is refused, naming its classes"
    for flag, alerting in (([], {'without_mask'}), (['--alert', 'with_mask,without_mask'], {'with_mask', 'without_mask'})):
        r = run(cli, '--model', model_dir, sample_pan, '--events-only', '--status-every', 0, *flag, env=env)
        assert r.returncode == 0, r.stderr
        recs = records(r.stdout)
        assert recs and [e['alert'] for e in recs] == [e['event'] != 'ended' and e['label'] in alerting for e in recs], (flag, recs)
    r = run(cli, '--model', model_dir, sample_pan, '--events', '--alert', 'mask_incorrect', env=env)
    assert r.returncode == 1 and "alert label 'mask_incorrect': the model's classes are with_mask, without_mask" in r.stderr, r.stderr
