"Helpers shared by the tests and the benchmarks (plain functions, no pytest): `from support import ...`"
import socket
from pathlib import Path

def free_port()->int:
    "A TCP port on 127.0.0.1 that nothing listens on now"
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def untrained_model(folder:Path)->Path:
    "A resnet18 at 64 px, untrained, saved in `folder`: for tests of mechanics that do not depend on what a model learned"
    from mask_recog.model import build_model, save_model
    return save_model(build_model('resnet18').eval(), {'arch': 'resnet18', 'size': 64}, folder)
