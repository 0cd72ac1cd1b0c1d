"""Links that work where each page is served, and outputs free of this machine's paths:

1. every relative link and image in README.md resolves from the repository's root (as GitHub and PyPI show it);
2. every relative link and image in the processed pages (`_proc/*.ipynb`: markdown cells, markdown and HTML outputs)
   resolves inside `_proc/`, the docs site's root (`x.ipynb` and `x.html` name the page made from `x.ipynb`);
3. no saved output of `nbs/*.ipynb` or of the processed pages shows an absolute path of the machine that ran it.

    python .ci/check_links.py      # after `python .ci/docs.py`; exits 1 on any problem, listing each"""
import json, os, re, sys
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
PROC = ROOT/'_proc'
LINK = re.compile(r'''!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+["'][^)]*["'])?\s*\)'''   # [t](u), ![a](u "title")
                  r'''|^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)'''                                     # [ref]: u
                  r'''|\b(?:src|href)\s*=\s*["']([^"']+)["']''', re.M)                          # <img src>, <a href>
FENCE = re.compile(r'^(```|~~~).*?^\1', re.M | re.S)
CODE = re.compile(r'`[^`\n]*`')
# absolute paths of a machine: system and user folders (preceded by neither a word, a dot nor a URL's host)
ABS = re.compile(r'(?<![\w.~-])/(?:work|root|tmp|home|Users|private|var|content|mnt|opt|usr|srv|scratch)/[^\s"\'<>)]*')

def links(md:str, html:bool=False)->list[str]:
    "Relative link targets in markdown `md` (or HTML when `html`), code spans and fenced blocks left out"
    if not html: md = CODE.sub('', FENCE.sub('', md))
    out = []
    for m in LINK.finditer(md):
        u = next(g for g in m.groups() if g)
        if re.match(r'[a-zA-Z][\w+.-]*:', u) or u.startswith(('#', '//')): continue   # http:, mailto:, data:, anchors
        out.append(u)
    return out

def _target(u:str)->str: return unquote(urlparse(u).path)

def check_readme()->tuple[list[str], int]:
    probs, n = [], 0
    for u in links((ROOT/'README.md').read_text(encoding='utf-8')):
        n += 1
        p = _target(u)
        if p.startswith('/'): probs.append(f'README.md: {u}: an absolute path (GitHub resolves it from the domain, not the repository)'); continue
        t = (ROOT/p).resolve()
        if ROOT not in [t, *t.parents]: probs.append(f'README.md: {u}: points outside the repository')
        elif not t.exists(): probs.append(f'README.md: {u}: no such file in the repository')
    return probs, n

def _page_exists(rel:Path)->bool:
    "Whether the site has `rel` (relative to _proc): a file, or a page Quarto renders from a notebook, .qmd or .md"
    t = PROC/rel
    if t.is_dir(): t = t/'index.html'
    if t.exists(): return True
    name = t.name
    for suf in ['.html.md', '.html', '.md']:   # x.html and x.html.md (the "Markdown" format link) come from x.ipynb/.qmd/.md
        if name.endswith(suf):
            stem = name[:-len(suf)]
            return any((t.parent/f'{stem}{s}').exists() for s in ['.ipynb', '.qmd', '.md'])
    return False

def _texts(c):
    "(kind, text, is_html) of a cell: its markdown, and its outputs' markdown and HTML"
    if c['cell_type'] == 'markdown': yield 'markdown', _s(c['source']), False
    for o in c.get('outputs', []):
        d = o.get('data') or {}
        if 'text/markdown' in d: yield 'output', _s(d['text/markdown']), False
        if 'text/html' in d: yield 'output', _s(d['text/html']), True

def _s(t): return ''.join(t) if isinstance(t, list) else (t or '')

def check_site()->tuple[list[str], int]:
    probs, n = [], 0
    pages = sorted(PROC.glob('*.ipynb'))
    if not pages: return [f'{PROC.relative_to(ROOT)}/ holds no processed pages: run `python .ci/docs.py` first'], 0
    for f in pages:
        nb = json.loads(f.read_text(encoding='utf-8'))
        for i, c in enumerate(nb['cells']):
            for kind, text, html in _texts(c):
                for u in links(text, html):
                    n += 1
                    p = _target(u)
                    where = f'{PROC.name}/{f.name} cell {i} ({kind}): {u}'
                    if p.startswith('/'): probs.append(f'{where}: an absolute path (the site is served under a sub-path)'); continue
                    t = (PROC/p).resolve()
                    if PROC.resolve() not in [t, *t.parents]: probs.append(f'{where}: points outside the site'); continue
                    if not _page_exists(Path(os.path.relpath(t, PROC.resolve()))): probs.append(f'{where}: not on the site')
    return probs, n

def _out_texts(o):
    if o.get('output_type') == 'stream': yield _s(o.get('text'))
    elif o.get('output_type') == 'error': yield '\n'.join([o.get('ename', ''), o.get('evalue', ''), *o.get('traceback', [])])
    for k, v in (o.get('data') or {}).items():
        if k.startswith('text/') or k.endswith('json'): yield v if isinstance(v, str) else _s(v) if isinstance(v, list) else json.dumps(v)

def check_outputs()->tuple[list[str], int]:
    "Saved outputs (of the notebooks, and of the pages the site shows) that hold an absolute path of a machine"
    probs, n = [], 0
    mine = {str(ROOT), str(Path.home())} - {'/'}
    for f in sorted((ROOT/'nbs').glob('*.ipynb')) + sorted(PROC.glob('*.ipynb')):
        nb = json.loads(f.read_text(encoding='utf-8'))
        for i, c in enumerate(nb['cells']):
            for o in c.get('outputs', []):
                for t in _out_texts(o):
                    n += 1
                    hits = ABS.findall(t) + [m for m in mine if m in t]
                    if hits: probs.append(f'{f.relative_to(ROOT)} cell {i}: an output shows {hits[0]!r}')
    return probs, n

def main()->int:
    ok = True
    for name, fn in [('README.md links and images, from the repository root', check_readme),
                     (f'site links and images, from {PROC.name}/ (the site root)', check_site),
                     ('saved outputs without absolute paths of this machine', check_outputs)]:
        probs, n = fn()
        print(f"{'ok  ' if not probs else 'FAIL'} {name}: {n} checked" + (f', {len(probs)} problem(s)' if probs else ''))
        for p in probs: print(f'     {p}')
        ok &= not probs
    return 0 if ok else 1

if __name__ == '__main__': sys.exit(main())
