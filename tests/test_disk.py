"Training from images streamed from disk (step 2c) gives the model that holding them in memory gives, and reads only the batches in flight"
import json, os, subprocess, sys
from pathlib import Path
import numpy as np, pytest, torch

@pytest.fixture(scope='module')
def prepared(small_real_set, tmp_path_factory):
    from mask_recog.data import prepare
    out = tmp_path_factory.mktemp('prep')/'data'
    prepare(small_real_set, out, progress=False)
    return out

def test_same_model_either_way(prepared, tmp_path):
    "One epoch from scratch on the CPU, the same seed: the weights are bit for bit the same with the images in memory and streamed from disk"
    from mask_recog.train import train
    from safetensors.torch import load_file
    kw = dict(arch='resnet18', size=32, epochs=1, lr=1e-3, bs=16, pretrained=False, device='cpu', framing='box')
    a = train(prepared, tmp_path/'memory', stream=False, **kw)
    b = train(prepared, tmp_path/'disk', stream=True, **kw)
    assert (a['meta']['data_path'], b['meta']['data_path']) == ('memory', 'disk')
    wa, wb = load_file(tmp_path/'memory'/'model.safetensors'), load_file(tmp_path/'disk'/'model.safetensors')
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a['valid'] == b['valid']
    files = sorted(p.name for p in (prepared/'images').iterdir())
    assert len(files) == 2 and all(f.endswith('.npy') for f in files), files          # train and valid, built once, no temp file left

def test_damaged_file_is_named(prepared):
    "An image file cut short: the loader names it and the fix, instead of training on garbage"
    from mask_recog.disk import image_file, DiskLoader
    f, y = image_file(prepared, 'valid', 24)
    with open(f, 'r+b') as h: h.truncate(f.stat().st_size - 100)
    with pytest.raises(OSError, match='cut short.*delete it to build it again'): DiskLoader(f, y, 8)
    g, _ = image_file(prepared, 'valid', 24)                                      # asked for again: built again, whole
    assert g == f and len(list(DiskLoader(g, y, 8))) == -(-len(y) // 8)
