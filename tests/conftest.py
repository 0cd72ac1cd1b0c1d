import os, shutil, pytest
from pathlib import Path

def _dataset(name):
    root = os.environ.get('MASK_RECOG_DATA')
    if not root: pytest.skip(f'MASK_RECOG_DATA is not set: skipping the test that needs {name}')
    p = Path(root).expanduser()/name
    if not p.exists(): pytest.skip(f'{p} does not exist: skipping the test that needs {name}')
    return p

@pytest.fixture(scope='session')
def face_mask_4k(): return _dataset('face-mask-4k')

@pytest.fixture(scope='session')
def mask_scenes(): return _dataset('mask-scenes-571')

@pytest.fixture(scope='session')
def small_real_set(face_mask_4k, tmp_path_factory):
    "A real subset: the first 60 files of each class of face-mask-4k, copied with their names"
    d = tmp_path_factory.mktemp('real')/'faces'
    for cls in ['with_mask', 'without_mask']:
        (d/cls).mkdir(parents=True)
        for f in sorted((face_mask_4k/cls).iterdir())[:60]: shutil.copy(f, d/cls/f.name)
    return d

@pytest.fixture(scope='session')
def detector_models():
    "The folder of face detector models named by MASK_RECOG_MODELS (YuNet, and the masked-face SSD when present)"
    root = os.environ.get('MASK_RECOG_MODELS')
    if not root: pytest.skip('MASK_RECOG_MODELS is not set: skipping the test that needs the face detector models')
    p = Path(root).expanduser()
    if not (p/'face_detection_yunet.onnx').exists(): pytest.skip(f'{p}/face_detection_yunet.onnx does not exist: skipping the test that needs it')
    return p

def console_script(name:str, module:str, fn:str, tmp:Path)->list[str]:
    "Command running the console script `name` when installed, else a wrapper file doing what pip's wrapper does"
    # (`python -c '...fn()'` is no way to run one: fastcore's `call_parse` parses argv only in a script with a `__file__`)
    import sys
    if exe := shutil.which(name): return [exe]
    w = Path(tmp)/f'{name}.py'
    w.write_text(f'import sys\nfrom {module} import {fn}\nsys.exit({fn}())\n')
    return [sys.executable, str(w)]
