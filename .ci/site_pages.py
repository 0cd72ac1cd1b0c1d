"""Make the processed pages self-contained: `_proc/` is the docs site's root, but the notebooks show their figures as
`../images/x.png` (the checkout's `images/`, where the series writes them and where README.md shows them from), a path
outside the site. This copies those figures into `_proc/images/` and rewrites the links to `images/x.png`.

Run by `.ci/docs.py` after processing, and by Quarto before it renders (`pre-render` in nbs/_quarto.yml), so
`nbdev-docs`, `nbdev-preview` and the deploy workflow all publish the same pages.

    python .ci/site_pages.py [PROC]     # PROC: the processed pages (default: $QUARTO_PROJECT_DIR, else ./_proc or .)"""
import json, os, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT/'images'
UP = re.compile(r'''(?<=[("'=\s])\.\./images/''')   # `](../images/`, `src="../images/`, `src=../images/`

FIG = re.compile(r'''\]\(images/([^)\s]+)|src=["']?images/([^"'\s>]+)''')  # figures a page shows from images/

def _fix(t, figs:set):
    "`t` (a string or a list of lines) with `../images/` links rewritten; adds the figures it shows to `figs`"
    s = ''.join(t) if isinstance(t, list) else t
    new = UP.sub('images/', s)
    figs |= {a or b for a, b in FIG.findall(new)}
    return t if new == s else new

def fix_pages(proc:Path)->tuple[int, set]:
    "Rewrite `../images/` links in `proc`'s notebooks (markdown cells, markdown and HTML outputs); the figures they name"
    changed, figs = 0, set()
    for f in sorted(proc.glob('*.ipynb')):
        nb = json.loads(f.read_text(encoding='utf-8'))
        before = json.dumps(nb, sort_keys=True)
        for c in nb['cells']:
            if c['cell_type'] == 'markdown': c['source'] = _fix(c['source'], figs)
            for o in c.get('outputs', []):
                for k in ['text/markdown', 'text/html']:
                    if k in (o.get('data') or {}): o['data'][k] = _fix(o['data'][k], figs)
        if json.dumps(nb, sort_keys=True) != before:
            f.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + '\n', encoding='utf-8'); changed += 1
    return changed, figs

def main(proc=None):
    proc = Path(proc or os.environ.get('QUARTO_PROJECT_DIR') or ('_proc' if Path('_proc/_quarto.yml').exists() else '.')).resolve()
    if not (proc/'_quarto.yml').exists(): sys.exit(f'{proc}: not a folder of processed pages (no _quarto.yml); run nbdev-proc-nbs first')
    changed, figs = fix_pages(proc)
    (proc/'images').mkdir(exist_ok=True)
    copied, missing = 0, []
    for name in sorted(figs):
        src = IMAGES/name
        if not src.is_file(): missing.append(name); continue
        dst = proc/'images'/name
        if not dst.exists() or dst.read_bytes() != src.read_bytes(): shutil.copy2(src, dst); copied += 1
    print(f'site pages: {changed} notebook(s) rewritten, {len(figs)} figure(s) linked, {copied} copied into {proc.name}/images'
          + (f'; not in images/: {", ".join(missing)}' if missing else ''))

if __name__ == '__main__': main(*sys.argv[1:2])
