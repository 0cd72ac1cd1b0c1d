"""The Gradio demo (step 8a) end to end, as a user meets it: `make_demo(MODEL).launch()` in its own process, driven by
headless Chromium (Debian's `chromium` + `chromium-driver`, through Selenium): upload the shipped scene photo and read its
labelled faces back from the page's table; a file that is not a photo and one over the limit get the app's message; the
webcam (Chromium's fake camera) gives a frame; a short video gives its track events and the annotated video.

The classifier is an untrained model (the mechanics), or the model folder named by `MASK_RECOG_APP_MODEL`."""
import os, sys, time, shutil, subprocess, urllib.request
from pathlib import Path
import numpy as np, pytest
from PIL import Image
from conftest import free_port, untrained_model
from support import CHROMIUM, CHROMEDRIVER, headless_chromium

LABELS = {'with_mask', 'without_mask'}
MAX_MB = 1  # the photo limit the app is started with: a 1.4 MB photo is refused by the app, not by Gradio's server (its limit is the video's)

@pytest.fixture(scope='module')
def browser_bits():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip('chromium or chromedriver is not installed: skipping the browser test (apt-get install chromium chromium-driver)')
    pytest.importorskip('selenium', reason='selenium is not installed: skipping the browser test (pip install selenium)')
    pytest.importorskip('gradio', reason='gradio is not installed: skipping the Gradio demo\'s browser test (pip install "mask_recog[demo]")')

@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    if m := os.environ.get('MASK_RECOG_APP_MODEL'): return Path(m)
    return untrained_model(tmp_path_factory.mktemp('model')/'untrained')

@pytest.fixture(scope='module')
def photo():
    from mask_recog.core import sample_path
    return sample_path('scenes')/'images'/'maksssksksss96.jpg'   # four people, two with masks (face-mask-853, CC0)

LAUNCH = '''import sys
from mask_recog.demo import make_demo
make_demo(sys.argv[1], max_upload_mb=float(sys.argv[3])).launch(server_name='127.0.0.1', server_port=int(sys.argv[2]), quiet=True)
'''

@pytest.fixture(scope='module')
def server(browser_bits, detector_models, model_dir, tmp_path_factory):
    "The demo, launched by a Python process of its own on a free loopback port; stopped at the end"
    tmp = tmp_path_factory.mktemp('demo')
    (tmp/'launch.py').write_text(LAUNCH)
    port, log = free_port(), tmp/'demo.log'
    env = {**os.environ, 'MASK_RECOG_MODELS': str(detector_models), 'OMP_NUM_THREADS': '2', 'GRADIO_ANALYTICS_ENABLED': 'False',
           'GRADIO_TEMP_DIR': str(tmp/'gradio')}
    with open(log, 'w') as f:
        p = subprocess.Popen([sys.executable, str(tmp/'launch.py'), str(model_dir), str(port), str(MAX_MB)], stdout=f, stderr=subprocess.STDOUT, env=env)
    url, t0 = f'http://127.0.0.1:{port}/', time.monotonic()
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200: break
            except OSError: pass
            if p.poll() is not None: pytest.fail(f'the demo exited with {p.returncode}:\n{log.read_text()}')
            if time.monotonic() - t0 > 120: pytest.fail(f'the demo did not answer within 120 s:\n{log.read_text()}')
            time.sleep(.5)
        yield url
    finally:
        p.terminate()
        try: p.wait(10)
        except subprocess.TimeoutExpired: p.kill(); p.wait()

@pytest.fixture(scope='module')
def driver(browser_bits, tmp_path_factory):
    d = headless_chromium(tmp_path_factory.mktemp('chromium-profile'), '1200,1400')
    yield d
    d.quit()

def wait(driver, cond, what, timeout=60):
    "Wait until `cond(driver)` is true; fails saying `what` was awaited, with the page's text"
    from selenium.webdriver.support.ui import WebDriverWait
    try: WebDriverWait(driver, timeout, poll_frequency=.25).until(cond)
    except Exception: pytest.fail(f'{what}: not on the page after {timeout} s; the page says:\n{driver.find_element("tag name", "body").text[:2000]}')

def text(driver, css): return ' '.join(e.text for e in driver.find_elements('css selector', css))

def open_page(driver, url):
    driver.get(url)
    wait(driver, lambda d: d.find_elements('css selector', '#photo-in input[type=file]'), 'the photo input')

def upload(driver, elem_id, path):
    el = driver.find_element('css selector', f'#{elem_id} input[type=file]')
    el.send_keys(str(path))

def table(driver, elem_id)->list[dict]:
    "The rows of a Gradio dataframe on the page, as dicts by column name"
    head = [e.text.strip() for e in driver.find_elements('css selector', f'#{elem_id} thead th') if e.text.strip()]
    lines = driver.find_element('css selector', f'#{elem_id}').text.split('\n')
    i = next(k for k in range(len(lines)) if lines[k:k + len(head)] == head)
    cells = lines[i + len(head):]
    assert len(cells) % len(head) == 0, (head, cells)
    return [dict(zip(head, cells[k:k + len(head)])) for k in range(0, len(cells), len(head))]

def test_photo(server, driver, photo, model_dir, detector_models):
    "The shipped photo: its faces in the table, as `MaskRecog` finds them, and the annotated photo shown"
    from mask_recog.api import MaskRecog
    open_page(driver, server)
    assert 'Face masks' in driver.title + driver.find_element('tag name', 'h1').text
    upload(driver, 'photo-in', photo)
    wait(driver, lambda d: 'face' in text(d, '#photo-summary'), 'the summary of the photo')
    assert text(driver, '#photo-summary').startswith(f'{photo.name}: '), text(driver, '#photo-summary')
    rows = table(driver, 'photo-faces')
    assert len(rows) >= 2, f'fewer than 2 faces in a photo of four people: {rows}'
    assert {r['label'] for r in rows} <= LABELS and all(0 <= float(r['prob_with_mask']) <= 1 for r in rows), rows
    os.environ.setdefault('MASK_RECOG_MODELS', str(detector_models))
    want = MaskRecog(model_dir)(photo)[0].to_pandas()
    assert sorted((int(r['x']), int(r['y']), int(r['w']), int(r['h']), r['label']) for r in rows) == \
           sorted(map(tuple, want[['x', 'y', 'w', 'h', 'label']].values.tolist())), (rows, want)
    assert f"{len(rows)} face" in text(driver, '#photo-summary')
    w, h = Image.open(photo).size
    wait(driver, lambda d: d.execute_script("const i = document.querySelector('#photo-out img'); return i && i.complete && i.naturalWidth > 0"), 'the annotated photo')
    shown = driver.execute_script("const i = document.querySelector('#photo-out img'); return [i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width]")
    assert shown[:2] == [w, h] and shown[2] > 100, f'the annotated photo is not shown: {shown}'

def test_example(server, driver):
    "A click on the second example photo runs it"
    open_page(driver, server)
    imgs = driver.find_elements('css selector', '#photo-examples img')
    assert len(imgs) == 2, f'{len(imgs)} example photos on the page, not 2'
    imgs[1].click()
    wait(driver, lambda d: text(d, '#photo-summary').startswith('maksssksksss45.jpg: '), 'the summary of the example photo')
    assert len(table(driver, 'photo-faces')) >= 1

@pytest.mark.parametrize('name', ['notes.jpg', 'big.png'])
def test_refused(server, driver, tmp_path, name):
    "A file that is not a photo, and one over the limit: the app's message, naming the file and the problem"
    f = tmp_path/name
    if name == 'notes.jpg': f.write_text('not a photo'); msg = 'notes.jpg is not a JPEG, PNG, WebP, BMP, GIF or TIFF image'
    else:
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (700, 700, 3), np.uint8)).save(f)   # 1.4 MB of noise
        msg = f'big.png is too large: over {MAX_MB} MB, the upload limit'
    open_page(driver, server)
    upload(driver, 'photo-in', f)
    wait(driver, lambda d: msg in d.find_element('tag name', 'body').text, f'the message {msg!r}')
    assert 'Traceback' not in driver.find_element('tag name', 'body').text and text(driver, '#photo-summary') == ''

def test_webcam(server, driver):
    "Chromium's fake camera (a test pattern, no faces): the webcam source, a capture, an answer"
    open_page(driver, server)
    btn = lambda label: next(b for b in driver.find_elements('css selector', '#photo-in button') if (b.get_attribute('aria-label') or b.text or '').lower().startswith(label))
    btn('capture from camera').click()
    wait(driver, lambda d: any(b.text.startswith('Click to Access') for b in d.find_elements('css selector', '#photo-in button')), 'the webcam access button')
    btn('click to access').click()
    wait(driver, lambda d: d.execute_script("const v = document.querySelector('#photo-in video'); return v && v.videoWidth > 0"), 'the webcam picture')
    btn('capture photo').click()
    wait(driver, lambda d: 'face' in text(d, '#photo-summary'), 'the summary of the webcam frame')
    assert ': 0 faces, 0 with a mask' in text(driver, '#photo-summary'), text(driver, '#photo-summary')

def test_video(server, driver, photo, tmp_path):
    "A pan across the photo, 40 frames: the track events (every track started and ended) and the annotated video"
    from mask_recog.data import scan_voc
    from mask_recog.core import sample_path
    from mask_recog.detectors import read_bgr
    from mask_recog.track import pan_frames, write_video
    boxes = [[b[1], b[2], b[3] - b[1], b[4] - b[2]] for o in scan_voc(sample_path('scenes'))[0] if o['path'].endswith(photo.name) for b in [o['box']]]
    video = write_video(pan_frames(read_bgr(photo), boxes, n=40)[0], tmp_path/'pan.mp4', fps=10)
    open_page(driver, server)
    next(b for b in driver.find_elements('css selector', 'button[role=tab]') if b.text == 'Video').click()
    wait(driver, lambda d: d.find_elements('css selector', '#video-in input[type=file]'), 'the video input')
    upload(driver, 'video-in', video)
    wait(driver, lambda d: 'face track' in text(d, '#video-summary'), 'the summary of the video', timeout=120)
    events = table(driver, 'video-events')
    started = sorted(e['track'] for e in events if e['event'] == 'started')
    assert len(started) >= 2 and started == sorted(e['track'] for e in events if e['event'] == 'ended'), events
    assert {e['label'] for e in events} <= LABELS, events
    wait(driver, lambda d: d.execute_script("const v = document.querySelector('#video-out video'); return v && v.readyState >= 1 && v.duration > 0"), 'the annotated video, playable')
    assert abs(driver.execute_script("return document.querySelector('#video-out video').duration") - 4) < 0.5
