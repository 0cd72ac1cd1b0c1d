#!/usr/bin/env python3
"""Saved outputs that pages show as results must be what their cells make now.

Each notebook named (default: the pages whose saved outputs are generated: the README's index, the model card, the
command-line reference) is run again in a fresh kernel from nbs/, and every saved text output of a code cell (a table
rendered from a JSON as markdown or text, `--help` printed by `!mask-recog-… --help`, stdout) is compared with the one
the cell makes now. A number edited by hand in a saved table, a JSON rewritten without re-running the page, a flag
renamed without refreshing the reference: each fails here, naming the notebook, the cell and the first differing line.

It also reads the prose of every page (markdown cells, all of nbs/): a measured figure typed there (a number with a
unit of measure: %, ×, img/s, frames/s, faces/s, ms, s, min, points, MB, GB) fails, naming the page and the line.
Measured figures reach a page only as a cell's output rendered from a JSON a script wrote; a setting or a limit is
written as code (`10` MB, `fps=10`), which this check leaves alone.

    python .ci/check_outputs.py [NOTEBOOK.ipynb ...]"""
import os, re, sys, json, copy, difflib
from pathlib import Path
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
PAGES = ['index.ipynb', '09a_model_card.ipynb', '10_cli.ipynb', '11_results.ipynb']  # pages whose saved outputs are results or references

def _texts(cell)->list[str]:
    "The text forms of a code cell's outputs, as saved: markdown, plain text, stdout (stderr and pictures are not compared)"
    out, prev_stdout = [], False
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream':  # a kernel may send one stream in several chunks, cut anywhere: join them
            if o.get('name') != 'stdout': continue
            text = ''.join(o.get('text', ''))
            if prev_stdout: out[-1] += text
            else: out.append(text)
            prev_stdout = True; continue
        prev_stdout = False
        data = o.get('data') or {}
        for kind in ('text/markdown', 'text/plain'):
            if kind in data: out.append(''.join(data[kind])); break
    return ['\n'.join(l.rstrip() for l in t.replace('\r\n', '\n').strip('\n').split('\n')) for t in out]

def stale_outputs(path:str|Path, cwd:str|Path|None=None, timeout:int=600)->list[str]:
    "Run notebook `path` in `cwd` (default: its folder); one line per code cell whose saved text outputs differ from the fresh ones"
    path = Path(path)
    saved = nbformat.read(path, as_version=4)
    fresh = copy.deepcopy(saved)
    for c in fresh.cells:
        if c.cell_type == 'code': c.outputs = []
    env = {**os.environ, 'COLUMNS': '80'}  # argparse wraps --help at the terminal's width; a pipe's is 80
    old = dict(os.environ); os.environ.update(env)
    try: NotebookClient(fresh, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(cwd or path.parent)}}).execute()
    finally: os.environ.clear(); os.environ.update(old)
    problems = []
    for i, (a, b) in enumerate(zip(saved.cells, fresh.cells)):
        if a.cell_type != 'code' or not a.get('outputs'): continue
        ta, tb = _texts(a), _texts(b)
        if ta == tb: continue
        diff = [l for l in difflib.unified_diff('\n'.join(ta).split('\n'), '\n'.join(tb).split('\n'), 'saved', 'now', n=0, lineterm='') if l[:1] in '+-' and l[:3] not in ('---', '+++')]
        first = a.source.strip().split('\n')[0][:60]
        problems.append(f"{path.name} cell {i} ({first}): saved output differs from what it makes now: {' | '.join(diff[:4])[:400]}")
    return problems

FIGURE = re.compile(r'(?<![\w.\-/])\d[\d,.]*\s?(?:%|×(?!\s?\d)|frames/s|img/s|faces/s|ms\b|s\b|min\b|points?\b|GB\b|MB\b)')

def typed_figures(path:str|Path)->list[str]:
    "One line per measured figure typed in the prose (markdown cells) of notebook `path`; code spans and link targets are left alone"
    nb, out = json.loads(Path(path).read_text()), []
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'markdown': continue
        for line in ''.join(c['source']).split('\n'):
            text = re.sub(r'\]\([^)]*\)', ']', re.sub(r'`[^`]*`', '', line))
            if found := FIGURE.findall(text): out.append(f"{Path(path).name} cell {i}: typed figure {', '.join(found)}: {line.strip()[:100]}")
    return out

def main(args:list[str])->int:
    nbs = [Path(a) for a in args] or [ROOT/'nbs'/n for n in PAGES]
    typed = [p for nb in sorted((ROOT/'nbs').glob('*.ipynb')) for p in typed_figures(nb)] if not args else []
    for p in typed: print('FAIL', p)
    if typed: print('a measured figure belongs in a bench script\'s JSON, rendered by a cell; write a setting as code (`10` MB)'); return 1
    if not args: print('ok   no measured figure typed in the prose of the pages')
    problems = [p for nb in nbs for p in stale_outputs(nb)]
    for p in problems: print('FAIL', p)
    if problems: print('re-run the page (jupyter nbconvert --to notebook --execute NB --inplace; nbdev-clean) and commit its outputs'); return 1
    print(f"ok   saved outputs match what their cells make now: {', '.join(n.name for n in nbs)}")
    return 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
