#!/usr/bin/env python3
"""The documented run that saves the pages' figures. Each notebook with declared figure cells (a `#| fig-cap: "…"`
line: Quarto's caption, and the declaration `.ci/render_check.py` checks) is run top to bottom in a fresh kernel in its
quick mode (the sample that ships in the package, `QUICK_RECIPE`; the full run needs the datasets and, for the default
recipe, a GPU), in a scratch working folder (`MASK_RECOG_WORK`: the checkout's `images/` are not touched). The outputs of
its figure cells are saved into the notebook: the pictures (each PNG at most 150 KB, re-encoded or scaled down when
larger) and what the cell prints on stdout; progress bars, warnings and every other cell are left as they were.

    MASK_RECOG_MODELS=DIR python .ci/save_figures.py [NOTEBOOK.ipynb ...]     # then: nbdev-clean, and commit"""
import io, os, re, sys, json, base64, tempfile
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MAX_PNG = 150_000  # bytes a saved figure may take
FIG = re.compile(r'^#\|\s*fig-cap:', re.M)

def is_figure(cell)->bool:
    "Whether `cell` is a declared figure cell"
    return cell.get('cell_type') == 'code' and bool(FIG.search(''.join(cell.get('source', ''))))

def small_png(b64:str, limit:int=MAX_PNG)->str:
    "`b64`, a base64 PNG, as one of at most `limit` bytes: as it is, else palette-quantized, else scaled down until it fits"
    raw = base64.b64decode(b64)
    if len(raw) <= limit: return b64
    im = Image.open(io.BytesIO(raw)).convert('RGB')
    while True:
        buf = io.BytesIO(); im.quantize(128).save(buf, 'PNG', optimize=True)
        if buf.tell() <= limit: return base64.b64encode(buf.getvalue()).decode()
        im = im.resize((max(1, int(im.width * .8)), max(1, int(im.height * .8))), Image.LANCZOS)

def kept(outputs:list)->list:
    "The outputs a page keeps from a figure cell: pictures (PNG, small) and stdout; not HTML progress bars, not stderr"
    out = []
    for o in outputs:
        if o.get('output_type') == 'stream':
            if o.get('name') == 'stdout': out.append(o)
        elif o.get('output_type') in ('display_data', 'execute_result') and 'image/png' in o.get('data', {}):
            o['data'] = {'image/png': small_png(o['data']['image/png']), 'text/plain': o['data'].get('text/plain', '<Figure>')}
            o['metadata'] = {}
            out.append(o)
    return out

def save_figures(path:Path, timeout:int=1800)->int:
    "Run `path` in quick mode and save its figure cells' outputs into it; the number of figure cells"
    nb = nbformat.read(path, as_version=4)
    figs = [i for i, c in enumerate(nb.cells) if is_figure(c)]
    if not figs: return 0
    run = nbformat.read(path, as_version=4)
    work = tempfile.mkdtemp(prefix='mask_recog-figures-')
    env = {'MASK_RECOG_QUICK': '1', 'MASK_RECOG_WORK': work}
    old = dict(os.environ)
    for k in ('MASK_RECOG_DATA', 'MASK_RECOG_SOURCE', 'MASK_RECOG_SCENES'): os.environ.pop(k, None)
    os.environ.update(env)
    try: NotebookClient(run, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    finally: os.environ.clear(); os.environ.update(old)
    for i in figs:
        outs = kept(run.cells[i].outputs)
        if not any('image/png' in o.get('data', {}) for o in outs): raise SystemExit(f'{path.name} cell {i}: a declared figure cell made no picture')
        nb.cells[i].outputs = outs
    nbformat.write(nb, path)
    return len(figs)

if __name__ == '__main__':
    if not os.environ.get('MASK_RECOG_MODELS'): print('note: MASK_RECOG_MODELS is unset: the face detectors are downloaded (or the detection pages fail offline)', file=sys.stderr)
    paths = [Path(a) for a in sys.argv[1:]] or sorted((ROOT/'nbs').glob('*.ipynb'))
    for p in paths:
        n = save_figures(p)
        if n: print(f'{p.name}: {n} figure cell(s) saved')
