"Helpers shared by the tests and the benchmarks (plain functions, no pytest): `from support import ...`"
import os, socket, shutil
from pathlib import Path

CHROMIUM, CHROMEDRIVER = shutil.which('chromium') or shutil.which('chromium-browser'), shutil.which('chromedriver')  # Debian's packages

def free_port()->int:
    "A TCP port on 127.0.0.1 that nothing listens on now"
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def untrained_model(folder:Path)->Path:
    "A resnet18 at 64 px, untrained, saved in `folder`: for tests of mechanics that do not depend on what a model learned"
    from mask_recog.model import build_model, save_model
    return save_model(build_model('resnet18').eval(), {'arch': 'resnet18', 'size': 64}, folder)

def headless_chromium(profile:Path, # an empty folder for the browser's profile
                      window:str='900,1000' # the window's width,height
                     ):
    "Selenium driving Chromium headless and offline (no driver download, no background network), a test-pattern camera allowed"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault('SE_OFFLINE', 'true')   # never let Selenium Manager look for drivers online
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', f'--window-size={window}',
              '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',   # a test-pattern camera, allowed without asking
              f'--user-data-dir={profile}']: o.add_argument(a)
    d = webdriver.Chrome(options=o, service=Service(CHROMEDRIVER))
    d.set_page_load_timeout(30)
    return d
