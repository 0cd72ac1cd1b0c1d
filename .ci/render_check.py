#!/usr/bin/env python3
"""Look at the docs site as a reader would. Each processed page (`_proc/`, from `.ci/docs.py`) is rendered to HTML by
nbconvert (standing in for Quarto, which renders the site on GitHub but cannot be installed here), served from a loopback
port and opened in headless Chromium. A page fails on an image of the site that does not load, a figure its markdown
shows that is not on the page, a declared figure cell (`#| fig-cap:`, saved by `.ci/save_figures.py`) without its picture
or with one over 150 KB (3 MB for all pages), a saved figure not shown, an error output or a traceback, or no text at all;
images from other sites (the Colab badges) cannot load offline and are only counted. Screenshots of a few pages are
written for a reviewer to look at.

    python .ci/render_check.py [--proc _proc] [--shots DIR] [--pages index,05_evaluate,11_results]"""
import re, sys, json, base64, argparse, threading, functools, http.server, tempfile
from pathlib import Path
import nbformat, yaml
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tests'))
from support import headless_chromium, CHROMIUM, CHROMEDRIVER  # noqa: E402  (the browser the tests drive)

IMAGES_JS = """return Array.from(document.images).map(i => ({src: i.getAttribute('src') || '', ok: i.complete && i.naturalWidth > 0,
                                                       shown: i.getBoundingClientRect().width > 0}));"""

def render(proc:Path)->list[Path]:
    "Every notebook of `proc` written beside it as HTML (so its relative image links resolve as on the site)"
    exp, pages = HTMLExporter(template_name='lab'), []
    for f in sorted(proc.glob('*.ipynb')):
        nb = nbformat.read(f, as_version=4)
        for c in nb.cells: c.metadata.pop('execution', None)  # nbdev's timing notes, which the schema's validator refuses
        for i, c in enumerate(nb.cells):  # the front matter, shown as Quarto shows it: the title and the description
            if c.cell_type == 'raw' and c.source.startswith('---'):
                fm = yaml.safe_load(c.source.strip().strip('-')) or {}
                nb.cells[i] = nbformat.v4.new_markdown_cell(f"# {fm.get('title', '')}\n\n{fm.get('description', '')}")
        body, _ = exp.from_notebook_node(nb)
        (dest := f.with_suffix('.html')).write_text(body, encoding='utf-8'); pages.append(dest)
    return pages

def error_outputs(nb_path:Path)->list[str]:
    "The error outputs a page saved (a reader would see their tracebacks)"
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
    return [f"cell {i}: {o.get('ename')}: {o.get('evalue')}" for i, c in enumerate(nb['cells']) for o in c.get('outputs', []) if o.get('output_type') == 'error']

FIG_MD = re.compile(r'''!\[[^\]]*\]\(\s*<?([^)\s>]+)|<img[^>]*\bsrc=["']([^"']+)''')

def declared_figures(stem:str)->set[str]:
    "File names of the figures the source page `nbs/STEM.ipynb` shows from its markdown (other sites' images left out)"
    src = ROOT/'nbs'/f'{stem}.ipynb'
    if not src.exists(): return set()
    cells = json.loads(src.read_text(encoding='utf-8'))['cells']
    urls = [a or b for c in cells if c['cell_type'] == 'markdown' for a, b in FIG_MD.findall(''.join(c['source']))]
    return {Path(u).name for u in urls if not u.startswith(('http://', 'https://', 'data:'))}

FIG_CELL = re.compile(r'^#\|\s*fig-cap:', re.M)
MAX_PNG, MAX_ALL = 150_000, 3_000_000  # bytes: one saved figure, all of them

def figure_outputs(stem:str, src:Path|None=None)->tuple[list[str], list[int]]:
    "Problems with the declared figure cells (`#| fig-cap:`) of `nbs/STEM.ipynb` (or `src`), and the sizes of the PNGs they saved"
    src = src or ROOT/'nbs'/f'{stem}.ipynb'
    if not src.exists(): return [], []
    bad, sizes = [], []
    for i, c in enumerate(json.loads(src.read_text(encoding='utf-8'))['cells']):
        if c['cell_type'] != 'code' or not FIG_CELL.search(''.join(c['source'])): continue
        pngs = [len(base64.b64decode(o['data']['image/png'])) for o in c.get('outputs', []) if 'image/png' in o.get('data', {})]
        if not pngs: bad.append(f'figure cell {i} has no saved picture (run python .ci/save_figures.py nbs/{stem}.ipynb)')
        bad += [f'figure cell {i}: a PNG of {n // 1000} KB (at most {MAX_PNG // 1000} KB)' for n in pngs if n > MAX_PNG]
        sizes += pngs
    return bad, sizes

def check(proc:Path, shots:Path, shot_pages:list[str])->int:
    pages = render(proc)
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(proc)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base, fails, n_local, n_ext, all_png = f'http://127.0.0.1:{srv.server_address[1]}', [], 0, 0, []
    shots.mkdir(parents=True, exist_ok=True)
    d = headless_chromium(Path(tempfile.mkdtemp()), window='1200,1500')
    try:
        for p in pages:
            d.get(f'{base}/{p.name}')
            imgs = d.execute_script(IMAGES_JS)
            local = [i for i in imgs if not i['src'].startswith(('http://', 'https://'))]
            n_local += len(local); n_ext += len(imgs) - len(local)
            text = d.execute_script('return document.body.innerText') or ''
            bad = [f"image {i['src'][:80]} does not load" for i in local if not i['ok']]
            shown = {Path(i['src']).name for i in local if i['ok'] and i['shown']}
            bad += [f'figure {f} of the page is not shown' for f in sorted(declared_figures(p.stem) - shown)]
            fig_bad, sizes = figure_outputs(p.stem); bad += fig_bad; all_png += sizes
            n_data = sum(i['ok'] and i['shown'] for i in local if i['src'].startswith('data:image'))
            if n_data < len(sizes): bad.append(f'{len(sizes)} saved figures, {n_data} shown')
            bad += [f'error output {e}' for e in error_outputs(p.with_suffix('.ipynb'))]
            if 'Traceback (most recent call last)' in text: bad.append('a traceback is shown')
            if len(text.strip()) < 200: bad.append(f'almost no text ({len(text.strip())} characters)')
            fails += [f'{p.stem}: {b}' for b in bad]
            print(f"{'FAIL' if bad else 'ok  '} {p.stem}: {len(local)} images of the site loaded{'' if not bad else ' but ' + '; '.join(bad)}")
            if p.stem in shot_pages:  # at its first saved figure, if it has one: what the page exists to show
                d.execute_script("const f = Array.from(document.images).find(i => (i.getAttribute('src') || '').startsWith('data:image')); if (f) f.scrollIntoView();")
                d.save_screenshot(str(shots/f'{p.stem}.png'))
    finally:
        d.quit(); srv.shutdown()
    if sum(all_png) > MAX_ALL: fails.append(f'the saved figures take {sum(all_png) / 1e6:.1f} MB in all (at most {MAX_ALL / 1e6:g} MB)')
    print(f'{len(all_png)} saved figures in declared figure cells, {sum(all_png) / 1e6:.2f} MB in all')
    print(f"{len(pages)} pages rendered and opened in headless Chromium: {n_local} images of the site, all loaded" if not fails else f'{len(fails)} problems',
          f"({n_ext} images of other sites not loaded offline); screenshots of {', '.join(shot_pages)} in {shots}")
    return 1 if fails else 0

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--proc', default=str(ROOT/'_proc'), help='the processed pages (.ci/docs.py writes them)')
    ap.add_argument('--shots', default=None, help='folder for the screenshots (default: PROC/_screenshots)')
    ap.add_argument('--pages', default='index,05_evaluate,11_results', help='comma-separated pages to screenshot')
    a = ap.parse_args()
    if not (CHROMIUM and CHROMEDRIVER): sys.exit('render_check: Chromium and chromedriver are needed (apt-get install chromium chromium-driver)')
    proc = Path(a.proc)
    if not any(proc.glob('*.ipynb')): sys.exit(f'render_check: no processed pages in {proc}: run python .ci/docs.py first')
    sys.exit(check(proc, Path(a.shots) if a.shots else proc/'_screenshots', a.pages.split(',')))
