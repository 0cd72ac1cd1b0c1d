"`mask-recog-detect --mqtt` against a real Mosquitto broker started on a loopback port: every event delivered in order, the queue bounded and counted while the broker is away, the last will when the process dies"
import json, os, re, signal, subprocess, threading, time, http.server
from pathlib import Path
import cv2, pytest
from test_detect_cli import _MJPEG, cli, env  # noqa: F401  (the console script and its environment: fixtures shared with the other detect tests)

pytest.importorskip('paho.mqtt', reason='the mqtt extra (paho-mqtt) is not installed')
from mask_recog.mqtt import Mosquitto, MqttEvents, listen

@pytest.fixture(scope='module')
def pan(tmp_path_factory):
    "A 60-frame pan across a shipped photo with labelled faces, as a video file, and its frames"
    from mask_recog.core import sample_path
    from mask_recog.detectors import read_bgr
    from mask_recog.detect import scan_scenes, face_box
    from mask_recog.track import pan_frames, write_video
    items = scan_scenes(sample_path('scenes'))[0]
    photo = items[0]['path']
    im = read_bgr(sample_path('scenes')/photo)
    boxes = [face_box(it['box'], im.shape[1], im.shape[0]) for it in items if it['path'] == photo]
    frames = pan_frames(im, boxes, n=60)[0]
    return write_video(frames, tmp_path_factory.mktemp('pan')/'pan.mp4', fps=15), frames

def wait_for(cond, timeout:float=10.):
    "Poll `cond` until it holds or `timeout` seconds pass; its last value"
    end = time.monotonic() + timeout
    while not (ok := cond()) and time.monotonic() < end: time.sleep(.05)
    return ok

def events_of(out:str)->list: return [json.loads(l) for l in out.splitlines() if l.strip()]

def test_every_event_in_order(cli, env, pan):
    "Broker up: the subscriber receives exactly the events printed on stdout, in order, and the camera's status online then offline (retained)"
    with Mosquitto() as b:
        heard = []
        sub = listen(b.url('site'), heard)
        r = subprocess.run([*cli, str(pan[0]), '--events-only', '--camera', 'door 1', '--mqtt', b.url('site'), '--mqtt-frames', '--status-every', '0'],
                           capture_output=True, text=True, timeout=180, env=env)
        printed = events_of(r.stdout)
        wait_for(lambda: len([1 for t, *_ in heard if t.endswith('/events')]) >= len(printed)); sub.disconnect()
    assert r.returncode == 0, r.stderr
    printed = events_of(r.stdout)
    assert printed and {e['event'] for e in printed} >= {'started', 'ended'}, r.stdout
    got = [json.loads(p) for t, p, _ in heard if t == 'site/door_1/events']
    assert got == printed                                                             # every event, in order, as printed
    assert [(p, ret) for t, p, ret in heard if t == 'site/door_1/status'] == [('online', False), ('offline', False)]  # live, so not flagged retained
    assert 'dropped' not in r.stderr, r.stderr
    frames = [json.loads(p) for t, p, _ in heard if t == 'site/door_1/frames']          # --mqtt-frames: a summary per processed frame (QoS 0)
    assert frames and [f['frame'] for f in frames] == sorted(f['frame'] for f in frames), frames[:3]
    assert all(f['camera'] == 'door 1' and f['faces'] == sum(f['labels'].values()) for f in frames), frames[:3]

def test_broker_away_bounded_and_counted(cli, env, pan):
    "Broker down for the whole run: events still go to stdout, the process ends on time, and what could not be sent is counted on stderr"
    with Mosquitto() as b: url = b.url()                               # a port where nothing listens any more
    t = time.monotonic()
    r = subprocess.run([*cli, str(pan[0]), '--events-only', '--camera', 'hall', '--mqtt', url, '--mqtt-queue', '1', '--status-every', '0'],
                       capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stderr
    n = len(events_of(r.stdout))
    assert n >= 2, r.stdout
    line = next(l for l in r.stderr.splitlines() if 'dropped while the broker was away' in l)
    m = re.search(r'away: (\d+); not delivered at the end: (\d+)', line)
    dropped, unsent = int(m[1]), int(m[2])
    assert (dropped, unsent) == (n - 1, 1), line                       # a queue of one: the first event kept (never delivered), the rest dropped
    assert time.monotonic() - t < 120

def test_restart_loses_only_beyond_the_queue():
    "The broker stopped and restarted while events are published: those within the queue arrive after it is back, in order; the rest are dropped and counted"
    with Mosquitto(persistence=True) as b:
        heard = []
        sub = listen(b.url(), heard, '+/events', name='dashboard')     # a durable subscription, kept across the restart
        pub = MqttEvents(b.url(), ['gate'], queue=50, log=lambda m: None)
        up = [pub.event({'camera': 'gate', 'n': k}) for k in range(40)]
        wait_for(lambda: len(heard) >= 40)
        b.stop(); time.sleep(.5)
        ok = [pub.event({'camera': 'gate', 'n': k}) for k in range(40, 300)]
        b.start()
        summary = pub.close(timeout=20)
        wait_for(lambda: len({json.loads(p)['n'] for _, p, _ in heard}) >= 40 + sum(ok))
        sub.disconnect()
    got = [json.loads(p)['n'] for _, p, _ in heard]
    assert all(up) and got[:40] == list(range(40))                     # the broker up: all, in order
    n = list(dict.fromkeys(got))                                       # QoS 1 is at least once: what was in flight to the dashboard when the broker stopped may come again
    assert n == sorted(n) and all(k < 40 for k in got[40:] if got.count(k) > 1), got   # in order; repeated only from before the stop
    assert sum(ok) == 50 and summary['gate']['dropped'] == ok.count(False) == 260 - 50, summary   # the queue bound: the first 50 kept, the rest dropped
    assert n[40:] == list(range(40, 90)) and len(n) == 300 - summary['gate']['dropped'] and summary['gate']['unsent'] == 0, (len(n), summary)  # nothing lost beyond what was counted

class _Live(_MJPEG):
    "A loopback MJPEG camera that sends frames until stopped"
    frames, first, fps, conns, stop = [], 10**9, 10, [], threading.Event()

def test_last_will_when_killed(cli, env, pan):
    "A camera process killed with SIGKILL: the broker publishes its last will, and a late subscriber reads the camera as offline (retained)"
    _Live.frames = [cv2.imencode('.jpg', f)[1].tobytes() for f in pan[1]]
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Live); srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with Mosquitto() as b:
        heard = []
        sub = listen(b.url(), heard, 'cam7/status')
        p = subprocess.Popen([*cli, f'http://127.0.0.1:{srv.server_address[1]}/cam.mjpg', '--events-only', '--camera', 'cam7', '--mqtt', b.url()],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        try:
            wait_for(lambda: ('mask_recog/cam7/status', 'online', False) in heard or p.poll() is not None, 60)
            assert ('mask_recog/cam7/status', 'online', False) in heard, p.stderr.read() if p.poll() is not None else 'no status'
            p.send_signal(signal.SIGKILL); p.wait(10)
            wait_for(lambda: heard[-1][1] == 'offline')
        finally:
            if p.poll() is None: p.kill()
            _Live.stop.set(); srv.shutdown(); srv.server_close()
        sub.disconnect()
        late = []
        sub = listen(b.url(), late, 'cam7/status'); wait_for(lambda: late); sub.disconnect()
    assert heard[-1][:2] == ('mask_recog/cam7/status', 'offline'), heard     # the last will, published by the broker
    assert late == [('mask_recog/cam7/status', 'offline', True)]             # retained: a dashboard that starts later knows

def test_python_api_publishes(pan, detector_models, monkeypatch):
    "`MaskRecog.track(..., mqtt=URL)`: the events of its `Results` are the ones the broker delivers, in order"
    monkeypatch.setenv('MASK_RECOG_MODELS', str(detector_models))
    from mask_recog import MaskRecog
    with Mosquitto() as b:
        heard = []
        sub = listen(b.url(), heard, 'api/events')
        evs = [e for r in MaskRecog().track(pan[0], camera='api', mqtt=b.url()) for e in r.events]
        wait_for(lambda: len(heard) >= len(evs)); sub.disconnect()
    assert evs and [json.loads(p) for _, p, _ in heard] == evs

def test_bad_url_said_before_anything_loads(cli, env):
    "A URL that is not mqtt:// is refused in one line, exit 1, before a detector or model is loaded"
    t = time.monotonic()
    r = subprocess.run([*cli, 'video.mp4', '--mqtt', 'http://broker:1883/x'], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == ['mask-recog-detect: --mqtt http://broker:1883/x: the URL must start with mqtt:// or mqtts:// (e.g. mqtt://localhost:1883/mask_recog)'], r.stderr
    assert time.monotonic() - t < 20
