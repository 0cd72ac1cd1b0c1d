#!/usr/bin/env python3
"""Keep the boilerplate cells of every numbered notebook identical, from one definition:
the Colab install cell (right after `default_exp`; its URL is `[project.urls] Repository` in pyproject.toml),
the hidden showdoc import that works without nbdev, and the last cell's `export_library()`.
`python .ci/sync_nbs.py` rewrites the notebooks; `--check` only reports and exits 1 when one would change."""
import json, re, sys, tomllib, uuid
from pathlib import Path

root = Path(__file__).resolve().parent.parent
url = tomllib.loads((root/'pyproject.toml').read_text())['project']['urls']['Repository']
INSTALL = ("# On Colab: install mask_recog from its repository (Colab's own torch is kept); elsewhere this cell does nothing\n"
           "import sys, subprocess\n"
           "if 'google.colab' in sys.modules:\n"
           f"    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', 'mask_recog @ git+{url}'], check=True)")
SHOWDOC = ("try: from nbdev.showdoc import show_doc  # only for the docs site; a plain `pip install mask_recog` has no nbdev\n"
           "except ImportError: show_doc = lambda *a, **k: None  # the docs-only cells then show nothing")
EXPORT = "#| hide\nexport_library()  # in a checkout with nbdev: write the library from the notebooks; elsewhere nothing"

def src(c): return ''.join(c['source'])
def lines(s): ls = s.split('\n'); return [l + '\n' for l in ls[:-1]] + [ls[-1]]
def code(s): return dict(cell_type='code', execution_count=None, id=uuid.uuid4().hex[:8], metadata={}, outputs=[], source=lines(s))

def sync(nb):
    cells = nb['cells']
    i = next((k for k, c in enumerate(cells) if src(c).startswith('#| default_exp')), None)
    if i is None: return nb  # a results page: it exports nothing and installs nothing (it reads what the package ships)
    nxt = src(cells[i+1]) if i + 1 < len(cells) else ''
    if 'google.colab' in nxt or '!pip install' in nxt:
        if nxt != INSTALL: cells[i+1]['source'] = lines(INSTALL); cells[i+1]['outputs'] = []
    else: cells.insert(i+1, code(INSTALL))
    for c in cells:
        s = src(c)
        if c['cell_type'] == 'code' and re.search(r'(?m)^from nbdev\.showdoc import show_doc\s*$', s):
            c['source'] = lines(re.sub(r'(?m)^from nbdev\.showdoc import show_doc\s*$', SHOWDOC, s))
        elif c['cell_type'] == 'code' and SHOWDOC not in s and re.search(r'(?m)^try: from nbdev\.showdoc import show_doc\b', s):  # an older form of it
            c['source'] = lines(re.sub(r'(?m)^try: from nbdev\.showdoc import show_doc\b.*\n\s*except ImportError:.*$', SHOWDOC, s))
    last = src(cells[-1])
    if 'nbdev_export' in last or 'export_library' in last:
        if last != EXPORT: cells[-1]['source'] = lines(EXPORT); cells[-1]['outputs'] = []
    else: cells.append(code(EXPORT))
    return nb

def main(check=False):
    changed = []
    for f in sorted((root/'nbs').glob('[0-9]*.ipynb')):
        txt = f.read_text(encoding='utf-8')
        nb = json.loads(txt)
        before = json.dumps(nb['cells'], sort_keys=True)
        sync(nb)
        if json.dumps(nb['cells'], sort_keys=True) != before:
            changed.append(f.name)
            if not check: f.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    if changed: print(('would change: ' if check else 'synced: ') + ', '.join(changed))
    return 1 if check and changed else 0

if __name__ == '__main__': sys.exit(main('--check' in sys.argv))
