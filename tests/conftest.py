import os, json, time, shutil, socket, subprocess, contextlib, urllib.request, pytest
from pathlib import Path
from support import free_port, untrained_model  # shared with bench/

FULL = {'faces': 'face-mask-4k', 'scenes': 'mask-scenes-571'}  # the developers' and CI's datasets, in $MASK_RECOG_DATA

def _dataset(name):
    "Folder `name` in $MASK_RECOG_DATA, or None when the variable is unset or the folder missing"
    root = os.environ.get('MASK_RECOG_DATA')
    p = Path(root).expanduser()/name if root else None
    return p if p is not None and p.exists() else None

DATA_FIXTURES = {'faces', 'scenes', 'scene_photos', 'small_real_set'}  # what differs between the two modes

def pytest_collection_modifyitems(config, items):
    "Mark `data_mode` every test that reads the data (through a fixture above): CI runs those in both modes, the rest once"
    for item in items:
        if DATA_FIXTURES & set(getattr(item, 'fixturenames', ())): item.add_marker(pytest.mark.data_mode)

def is_full(p:Path)->bool:
    "Whether the `faces` or `scenes` fixture is the full dataset (its exact counts hold), not the sample"
    return Path(p).name in FULL.values()

@pytest.fixture(scope='session')
def faces():
    "Real face photos in class folders: face-mask-4k from $MASK_RECOG_DATA (developers, CI), else the sample shipped with the library (64 per class)"
    if (p := _dataset(FULL['faces'])) is not None: return p
    from mask_recog.core import sample_path
    return sample_path('faces')

@pytest.fixture(scope='session')
def scenes(tmp_path_factory):
    "A labelled scene set (YOLO): mask-scenes-571 from $MASK_RECOG_DATA, else the quick run's composites of the sample's faces"
    if (p := _dataset(FULL['scenes'])) is not None: return p
    from mask_recog.data import get_scenes
    with pytest.MonkeyPatch.context() as mp:   # built in this session's scratch, whatever the user's cache or scene source
        mp.setenv('MASK_RECOG_HOME', str(tmp_path_factory.mktemp('home')))
        mp.delenv('MASK_RECOG_SCENES', raising=False)
        return get_scenes(quick=True)

@pytest.fixture(scope='session')
def scene_photos(scenes):
    "Three photos of `scenes` with faces (their paths inside it): two from valid, one from test"
    if is_full(scenes): return ['images/valid/crowd_mask161.jpg', 'images/valid/crowd_mask155.jpg', 'images/test/asian_mask8.jpg']
    imgs = lambda split: sorted(p.relative_to(scenes).as_posix() for p in (scenes/'images'/split).glob('*.jpg'))
    return (imgs('valid') + imgs('train'))[:2] + imgs('test')[:1]

@pytest.fixture(scope='session')
def small_real_set(faces, tmp_path_factory):
    "A real subset: the first 60 files of each class of `faces`, copied with their names"
    d = tmp_path_factory.mktemp('real')/'faces'
    for cls in ['with_mask', 'without_mask']:
        (d/cls).mkdir(parents=True)
        for f in sorted((faces/cls).iterdir())[:60]: shutil.copy(f, d/cls/f.name)
    return d

@pytest.fixture(scope='session')
def detector_models():
    "A folder holding the face detector models (YuNet, the masked-face SSD): $MASK_RECOG_MODELS, else the download cache, filled once"
    if root := os.environ.get('MASK_RECOG_MODELS'):
        p = Path(root).expanduser()
        if not (p/'face_detection_yunet.onnx').exists(): pytest.fail(f'MASK_RECOG_MODELS={p} holds no face_detection_yunet.onnx')
        return p
    from mask_recog.core import DownloadError
    from mask_recog.detectors import DETECTOR_MODELS, fetch_model
    try: files = [fetch_model(name) for name in DETECTOR_MODELS]   # pinned upstream files, checked against their sha256
    except DownloadError as e:
        pytest.skip(f'the face detector models are not in the cache and could not be downloaded (offline?); '
                    f'set MASK_RECOG_MODELS to a folder holding them: {e}')
    return files[0].parent

def console_script(name:str, module:str, fn:str, tmp:Path)->list[str]:
    "Command running the console script `name` when installed, else a wrapper file doing what pip's wrapper does"
    # (`python -c '...fn()'` is no way to run one: fastcore's `call_parse` parses argv only in a script with a `__file__`)
    import sys
    if exe := shutil.which(name): return [exe]
    w = Path(tmp)/f'{name}.py'
    w.write_text(f'import sys\nfrom {module} import {fn}\nsys.exit({fn}())\n')
    return [sys.executable, str(w)]

@contextlib.contextmanager
def serving(cmd:list, model_dir:Path, env:dict, log:Path, timeout:float=60):
    "`cmd --model MODEL_DIR --port P` started in its own process, once /healthz answers: yields `(url, port, process, health)`; stopped on exit"
    port = free_port()
    with open(log, 'w') as f:
        p = subprocess.Popen([*cmd, '--model', str(model_dir), '--port', str(port)], stdout=f, stderr=subprocess.STDOUT, env=env,
                             cwd=Path(__file__).resolve().parents[1])
    url, t0 = f'http://127.0.0.1:{port}', time.monotonic()
    try:
        while True:
            try:
                with urllib.request.urlopen(url + '/healthz', timeout=2) as r: health = json.load(r); break
            except OSError: pass
            if p.poll() is not None: pytest.fail(f'mask-recog-serve exited with {p.returncode}:\n{log.read_text()}')
            if time.monotonic() - t0 > timeout: pytest.fail(f'mask-recog-serve did not answer within {timeout:g} s:\n{log.read_text()}')
            time.sleep(.3)
        yield url, port, p, health
    finally:
        p.terminate()
        try: p.wait(10)
        except subprocess.TimeoutExpired: p.kill(); p.wait()
