"""The web demo end to end, as a user meets it: `mask-recog-serve` in its own process, driven by headless Chromium
(Debian's `chromium` + `chromium-driver`, through Selenium): upload a real scene, read the result, try a wrong file and
the webcam (Chromium's fake camera), and save `images/app_screenshot.png`.

The classifier is an untrained model (the mechanics), or the model folder named by `MASK_RECOG_APP_MODEL` (to make the
screenshot with a trained one); the screenshot's caption says which."""
import io, json, os, shutil
from pathlib import Path
import pytest
from conftest import console_script, is_full, serving, untrained_model
from support import CHROMIUM, CHROMEDRIVER, headless_chromium

ROOT = Path(__file__).resolve().parents[1]
SCENE = 'images/test/crowd_mask34.jpg'  # in mask-scenes-571: two masked faces; photo: alexlorenzo/masked-faces-detection
FACE_KEYS = {'box', 'landmarks', 'score', 'label', 'prob_with_mask'}

@pytest.fixture(scope='module')
def browser_bits():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip('chromium or chromedriver is not installed: skipping the browser test (apt-get install chromium chromium-driver)')
    pytest.importorskip('selenium', reason='selenium is not installed: skipping the browser test (pip install selenium)')
    for m in ['fastapi', 'uvicorn', 'multipart']:
        pytest.importorskip(m, reason=f'{m} is not installed: skipping the browser test (pip install fastapi uvicorn python-multipart)')

@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    if m := os.environ.get('MASK_RECOG_APP_MODEL'): return Path(m)
    return untrained_model(tmp_path_factory.mktemp('model')/'untrained')

@pytest.fixture(scope='module')
def server(browser_bits, detector_models, model_dir, tmp_path_factory):
    "`mask-recog-serve MODEL_DIR --port P` (the console script when installed, else a wrapper file as pip writes one)"
    cmd = console_script('mask-recog-serve', 'mask_recog.app', 'serve_cli', tmp_path_factory.mktemp('bin'))
    env = {**os.environ, 'MASK_RECOG_MODELS': str(detector_models), 'OMP_NUM_THREADS': '2'}
    with serving(cmd, model_dir, env, tmp_path_factory.mktemp('log')/'serve.log') as (url, _, _, health):
        assert health['status'] == 'ok'
        yield url + '/'

@pytest.fixture(scope='module')
def driver(browser_bits, tmp_path_factory):
    d = headless_chromium(tmp_path_factory.mktemp('chromium-profile'), '900,1000')
    yield d
    d.quit()

def wait_result(driver, timeout=60):
    "Wait until the page shows a result or an error; returns (state, status text)"
    from selenium.webdriver.support.ui import WebDriverWait
    js = 'return document.body.dataset.state'
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(js) in ('done', 'error'),
        message=f'no result on the page after {timeout} s (state, status): {driver.execute_script(js)!r}, {driver.find_element("id", "status").text!r}')
    return driver.execute_script(js), driver.find_element('id', 'status').text

def upload(driver, path):
    driver.execute_script("document.body.dataset.state = 'idle'")
    el = driver.find_element('id', 'file')
    driver.execute_script("arguments[0].value = ''", el)   # the same file twice must fire `change` again
    el.send_keys(str(path))
    return wait_result(driver)

def save_screenshot(driver, model_dir, credit, dest=ROOT/'images'/'app_screenshot.png', max_kb=200):
    "Caption the page (photo `credit`, classifier) and save a palette PNG of at most `max_kb`"
    from PIL import Image
    driver.execute_script("""const p = document.createElement('p'); p.style.cssText = 'font-size:.75rem;color:#555';
        p.textContent = arguments[0]; document.getElementById('result').after(p);""",
        f'Photo: {credit}. Classifier: {Path(model_dir).name}.')
    driver.execute_script('window.scrollTo(0, 0)')
    im = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert('RGB')
    for colors in [256, 128, 64]:
        buf = io.BytesIO(); im.quantize(colors, method=Image.Quantize.MEDIANCUT).save(buf, 'PNG', optimize=True)
        if buf.tell() <= max_kb * 1024: break
    dest.parent.mkdir(exist_ok=True); dest.write_bytes(buf.getvalue())
    return dest

def test_upload_a_photo(server, driver, scenes, scene_photos, model_dir, tmp_path):
    from PIL import Image
    driver.get(server)
    assert 'Face masks' in driver.title + driver.find_element('tag name', 'h1').text
    full = is_full(scenes)   # the docs' screenshot shows a real scene: made only from mask-scenes-571, else into the test's folder
    photo = scenes/(SCENE if full else scene_photos[2])
    state, status = upload(driver, photo)
    assert state == 'done', f'the page shows an error for {photo.name}: {status}'
    res = json.loads(driver.find_element('id', 'json').text)
    assert len(res['faces']) >= 1, f'no face found in {photo.name}, a scene with faces: {res}'
    assert all(set(f) == FACE_KEYS and f['label'] in ('with_mask', 'without_mask') for f in res['faces'])
    w, h = Image.open(photo).size
    assert (res['width'], res['height']) == (w, h)
    shown = driver.execute_script("const i = document.getElementById('result'); return [i.complete, i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width]")
    assert shown[:3] == [True, w, h] and shown[3] > 100, f'the annotated image is not shown: {shown}'
    assert f"{len(res['faces'])} face" in status
    dest = save_screenshot(driver, model_dir, f'mask-scenes-571 ({SCENE}), from alexlorenzo/masked-faces-detection' if full
                           else f'a composite of faces from the sample ({photo.name})', **({} if full else {'dest': tmp_path/'app_screenshot.png'}))
    assert dest.stat().st_size <= 200 * 1024

def test_wrong_file(server, driver, tmp_path):
    driver.get(server)
    bad = tmp_path/'notes.txt'; bad.write_text('not a photo')
    state, status = upload(driver, bad)
    assert state == 'error' and 'not an image' in status and 'HTTP 415' in status, status
    assert driver.find_element('id', 'result').get_attribute('src') in (None, '')

def test_webcam(server, driver):
    "Chromium's fake camera (a test pattern, no faces): getUserMedia → canvas → upload → an annotated frame"
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(server)
    driver.find_element('id', 'cam').click()
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.getElementById('video').videoWidth > 0 && !document.getElementById('snap').disabled"))
    driver.execute_script("document.body.dataset.state = 'idle'")
    driver.find_element('id', 'snap').click()
    state, status = wait_result(driver)
    assert state == 'done' and status.startswith('webcam.jpg:'), status
    res = json.loads(driver.find_element('id', 'json').text)
    vw, vh = driver.execute_script("const v = document.getElementById('video'); return [v.videoWidth, v.videoHeight]")
    assert (res['width'], res['height']) == (vw, vh) and isinstance(res['faces'], list)
