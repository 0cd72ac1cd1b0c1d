"Face tracks and events (`mask_recog.track`): association, hysteresis, the event schema, `finish`, and one pan across a real photo."
import json
import numpy as np, cv2, pytest
from mask_recog.track import Tracker, EVENT_KEYS, associate, pan_frames, write_video, label_flips

def face(x, y, s=40, p=None, score=.9):
    "A face as `detect` returns it"
    return {'box': [x, y, s, s], 'score': score, 'label': None, 'prob_with_mask': p}

def play(tk, frames):
    "Feed `frames` (lists of faces) to `tk`; the events of each update, and each frame's track ids"
    events, ids = [], []
    for i, faces in enumerate(frames):
        events += tk.update(faces, i)
        ids.append([f['track'] for f in faces])
    return events, ids

def kinds(events): return [(e['event'], e['track']) for e in events]

# -- association

def test_crossing_faces_keep_their_ids():
    # A goes right, B goes left, 10 px a frame, 40 px faces 6 px apart vertically: they overlap for several frames
    _, ids = play(Tracker(min_frames=1), [[face(10 * i, 100), face(200 - 10 * i, 106)] for i in range(21)])
    assert ids == [[1, 2]] * 21

def test_crossing_behind_keeps_its_id():
    # B is hidden behind A for 3 frames while they cross (the detector sees only A), then comes out on the other side
    frames = [[face(10 * i, 100)] + ([face(200 - 10 * i, 104)] if not 9 <= i <= 11 else []) for i in range(21)]
    _, ids = play(Tracker(min_frames=1, max_missed=5), frames)
    assert all(i == [1, 2] for i in ids[:9] + ids[12:]) and ids[9:12] == [[1]] * 3

@pytest.mark.parametrize('gap', [1, 5, 10])
def test_missing_face_keeps_its_id_up_to_max_missed(gap):
    tk = Tracker(min_frames=1, max_missed=10)
    frames = [[face(100 + 4 * i, 50)] if not 5 <= i < 5 + gap else [] for i in range(5 + gap + 5)]
    events, ids = play(tk, frames)
    assert {t for f in ids for t in f} == {1}
    assert kinds(events) == [('started', 1)]

def test_missing_longer_than_max_missed_ends_and_restarts():
    tk = Tracker(min_frames=1, max_missed=3)
    events, ids = play(tk, [[face(0, 0)]] + [[]] * 4 + [[face(0, 0)]])
    assert kinds(events) == [('started', 1), ('ended', 1), ('started', 2)]
    assert events[1]['frame'] == 0 and ids[-1] == [2]   # `ended` is dated when the face was last seen

def test_new_face_gets_new_id():
    tk = Tracker(min_frames=1)
    _, ids = play(tk, [[face(10, 10)], [face(12, 10)], [face(12, 10), face(300, 200)], [face(14, 10), face(302, 200), face(150, 300)]])
    assert ids == [[1], [1], [1, 2], [1, 2, 3]]

def test_associate_is_one_to_one_and_gated():
    assert associate([[0, 0, 10, 10]], [[0, 0, 10, 10], [1, 0, 10, 10]]) == [(0, 0)]
    assert associate([[0, 0, 10, 10], [1, 0, 10, 10]], [[1, 0, 10, 10]]) == [(1, 0)]
    assert associate([[0, 0, 10, 10]], [[50, 50, 10, 10]]) == []      # too far
    assert associate([[0, 0, 10, 10]], [[2, 2, 30, 30]]) == []        # too different in size

# -- hysteresis

def probs_events(probs, **kw):
    tk = Tracker(**{'threshold': .5, **kw})
    ev = [e for i, p in enumerate(probs) for e in tk.update([face(10, 10, p=p)], i)]
    return ev + tk.finish()

@pytest.mark.parametrize('probs', [[.55, .45] * 30, [.45, .58, .52, .41] * 15, [.95, .05] * 30, [.7, .7, .3] * 20])
def test_oscillation_around_threshold_never_flips(probs):
    per_frame = ['with_mask' if p >= .5 else 'without_mask' for p in probs]
    assert label_flips(per_frame) >= 19    # per-frame labelling flickers
    assert [e['event'] for e in probs_events(probs)] == ['started', 'ended']

@pytest.mark.parametrize('start,after,change', [(.1, .9, 'mask_on'), (.9, .1, 'mask_off')])
@pytest.mark.parametrize('min_frames', [1, 3, 5])
def test_sustained_change_flips_once_after_min_frames(start, after, change, min_frames):
    ev = probs_events([start] * 20 + [after] * 20, min_frames=min_frames)
    assert [e['event'] for e in ev] == ['started', change, 'ended']
    assert ev[0]['frame'] == min_frames - 1                  # decided once seen in min_frames frames
    assert 20 + min_frames - 1 <= ev[1]['frame'] < 30        # not before min_frames frames of the change; soon after
    assert ev[1]['label'] == ('with_mask' if change == 'mask_on' else 'without_mask')

def test_short_blip_does_not_flip():
    # two frames past the far threshold, then back: with min_frames=3 the label stays
    assert [e['event'] for e in probs_events([.9] * 10 + [0.] * 2 + [.9] * 10, alpha=1)] == ['started', 'ended']
    assert [e['event'] for e in probs_events([.9] * 10 + [0., 0., .9] * 10, alpha=1)] == ['started', 'ended']   # the count starts again
    assert [e['event'] for e in probs_events([.9] * 10 + [0.] * 3 + [.9] * 10, alpha=1)] == ['started', 'mask_off', 'mask_on', 'ended']

def test_one_frame_track_makes_no_event():
    assert probs_events([.9]) == [] and probs_events([.9, .9]) == []

def test_enter_leave_thresholds():
    tk = Tracker(threshold=.576, band=.1)
    assert (round(tk.enter, 3), round(tk.leave, 3)) == (.676, .476)
    with pytest.raises(ValueError, match='leave'): Tracker(threshold=.5, enter=.4)
    with pytest.raises(ValueError, match='min_frames'): Tracker(min_frames=0)

# -- events

def test_event_schema():
    tk = Tracker(camera='cam3', fps=10, min_frames=2)
    ev = []
    for i, p in enumerate([.9] * 5 + [.1] * 8):
        ev += tk.update([face(10 + i, 10, p=p)], i, 1000. + i / 10)
    ev += tk.finish()
    assert [e['event'] for e in ev] == ['started', 'mask_off', 'ended']
    for e in ev:
        assert list(e)[:len(EVENT_KEYS)] == list(EVENT_KEYS)
        assert set(e) - set(EVENT_KEYS) == ({'best'} if e['event'] == 'ended' else set())
        assert e['camera'] == 'cam3' and e['track'] == 1 and e['first_seen'] == 1000.
        assert isinstance(e['time'], float) and isinstance(e['frame'], int) and len(e['box']) == 4
        assert json.loads(json.dumps(e)) == e                     # one JSON line as it is
    s, off, end = ev
    assert (s['frame'], s['time'], s['label'], s['seen_frames']) == (1, 1000.1, 'with_mask', 2)
    assert off['label'] == 'without_mask' and 0 <= off['prob_with_mask'] < tk.leave
    assert (end['frame'], end['time'], end['pos'], end['duration_s'], end['seen_frames']) == (12, 1001.2, 1.2, 1.2, 13)  # positions from the frame count (fps 10)
    assert set(end['best']) == {'frame', 'time', 'pos', 'score', 'sharpness', 'box'}

def test_finish_ends_all_tracks():
    tk = Tracker(min_frames=2)
    play(tk, [[face(0, 0, p=.9), face(200, 0, p=.1), face(400, 0, p=.9)]] * 3 + [[face(0, 0, p=.9), face(200, 0, p=.1), face(600, 300)]])
    ev = tk.finish()
    assert kinds(ev) == [('ended', 1), ('ended', 2), ('ended', 3)]  # the 4th, seen once, was never reported
    assert tk.tracks == [] and tk.finish() == []
    assert kinds(tk.update([face(0, 0)], 10)) == [] and tk.tracks[0].id == 5   # ids go on after finish

def test_frames_must_come_in_order():
    tk = Tracker(); tk.update([], 3)
    with pytest.raises(ValueError, match='frame 2 after frame 3'): tk.update([], 2)

def test_best_crop_written(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    blur = cv2.GaussianBlur(img, (0, 0), 4)
    tk = Tracker(camera='rtsp://cam/1', min_frames=1, crops_dir=tmp_path)
    ev = []
    for i, fr in enumerate([blur, img, blur]): ev += tk.update([face(40, 30, 50, .2, .9)], i, None, fr)
    ev += tk.finish()
    assert ev[-1]['best']['frame'] == 1 and ev[-1]['crop'] == ev[0]['crop']
    assert ev[0]['crop'] == str(tmp_path/'rtsp_cam_1-1.jpg') and cv2.imread(ev[0]['crop']).shape == (70, 70, 3)
    assert [p.name for p in tmp_path.iterdir()] == ['rtsp_cam_1-1.jpg']

# -- real frames

def test_pan_across_a_real_photo(scenes, scene_photos, detector_models, tmp_path, monkeypatch):
    "A video of a slow pan across a real scene photo, read back and detected: one track per face, started first and ended last"
    monkeypatch.setenv('MASK_RECOG_MODELS', str(detector_models))
    from mask_recog.detectors import load_detector, read_bgr, FrameReader, box_iou
    from mask_recog.detect import detect
    photo = read_bgr(scenes/scene_photos[0])
    det = load_detector()
    found = [f['box'] for f in detect(photo, det) if f['score'] >= .8]   # the faces the detector is sure of, as "labels"
    assert found
    frames, moved = pan_frames(photo, found, n=30, size=(480, 360))
    video = write_video(frames, tmp_path/'pan.avi', fps=10)
    tk, owner, events = Tracker(camera='pan', fps=10), {}, []
    for _, i, t, p, frame, _ in FrameReader(video):
        faces = detect(frame, det)
        events += tk.update(faces, i, t, frame, p)
        if faces:
            m = box_iou(np.array(moved[i]), np.array([f['box'] for f in faces]))
            for k in range(len(found)):
                j = int(m[k].argmax())
                if m[k, j] >= .3: owner.setdefault(k, set()).add(faces[j]['track'])
    events += tk.finish()
    assert len(owner) == len(found) and all(len(ids) == 1 for ids in owner.values()), owner   # stable ids across the pan
    for (tid,) in owner.values():
        ev = [e['event'] for e in events if e['track'] == tid]
        assert ev == ['started', 'ended'], ev   # no classifier: no label changes

# -- detecting on one frame in K

@pytest.mark.parametrize('K', [2, 3, 6])
def test_detect_every_k_same_events_later(K):
    # two faces moving apart, one masked, one whose mask comes off at frame 30; gone after frame 70 (a change must last
    # about K × (the frames smoothing takes + min_frames) frames to be reported: 30 frames for K = 6)
    frames = [[face(100 + 3 * i, 100, 40, .9), face(300 - 2 * i, 120, 40, .9 if i < 30 else .1)] if i <= 70 else [] for i in range(90)]
    runs = {}
    for k in (1, K):
        tk, events, tracked = Tracker(threshold=.5), [], []
        for i, faces in enumerate(frames):
            faces = [dict(f) for f in faces]
            if tk.due(i, k): events += tk.update(faces, i)
            else: faces = tk.predict(i); tracked.append(i)
            assert all(f['track'] in (1, 2) for f in faces)
            if k > 1 and i in tracked and i <= 70:
                assert [f['track'] for f in faces] == [1, 2] and all(f['tracked'] for f in faces)
                for f, g in zip(faces, frames[i]): assert abs(f['box'][0] - g['box'][0]) <= 3   # the predicted box is where the face is
        events += tk.finish()
        runs[k] = events, tracked
    (e1, t1), (ek, tk_) = runs[1], runs[K]
    assert t1 == [] and len(tk_) >= 90 * (K - 1) / K - 20
    assert kinds(ek) == kinds(e1) == [('started', 1), ('started', 2), ('mask_off', 2), ('ended', 1), ('ended', 2)]
    for a, b in zip(e1[:3], ek[:3]): assert a['frame'] <= b['frame'] <= a['frame'] + K * 4   # later, by at most K × (min_frames + a frame of smoothing)

def test_predict_is_no_observation():
    tk = Tracker(min_frames=1)
    tk.update([face(0, 0, p=.9)], 0)
    before = (tk.tracks[0].seen, tk.tracks[0].prob, tk.tracks[0].missed)
    assert [f['track'] for f in tk.predict(1)] == [1] and tk.predict(2)[0]['tracked'] is True
    assert (tk.tracks[0].seen, tk.tracks[0].prob, tk.tracks[0].missed) == before
    with pytest.raises(ValueError, match='frame 2 after frame 2'): tk.predict(2)
    with pytest.raises(ValueError, match='every=0'): tk.due(3, 0)
