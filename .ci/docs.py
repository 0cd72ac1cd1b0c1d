"""The docs site's pages, as `nbdev-docs` makes them before Quarto renders: every notebook processed afresh into `_proc/`
(hidden cells dropped, `show_doc` and export cells run), then made self-contained by `.ci/site_pages.py`.
Exits 1 when any notebook fails to process, naming it and the error (`nbdev-proc-nbs` itself can exit 0 then).

Unlike `nbdev-proc-nbs`, it never tries to install Quarto (it only prepares the pages; the deploy workflow renders them).

    python .ci/docs.py          # then: cd _proc && quarto render   (what the deploy workflow does)"""
import os, shutil, sys, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'.ci'))

def main()->int:
    os.chdir(ROOT)
    import nbdev.quarto as q
    q._ensure_quarto = lambda: None   # processing needs no Quarto; rendering does, and installs it in the deploy workflow
    nbs = sorted((ROOT/'nbs').glob('*.ipynb'))
    t0 = time.time()
    shutil.rmtree(ROOT/'_proc', ignore_errors=True)   # all afresh (not `force=True`: that also rewrites the custom nbs/sidebar.yml)
    try: cache = q._pre_docs( n_workers=int(os.environ.get('DOCS_WORKERS', min(2, os.cpu_count() or 1))))[0]
    except BaseException as e:
        print(''.join(traceback.format_exception(e))[-6000:], file=sys.stderr)
        print(f'FAIL: processing the notebooks for the docs failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}')
        return 1
    missing = [p.name for p in nbs if not (cache/p.name).exists() or (cache/p.name).stat().st_mtime < t0]
    if missing:
        print(f'FAIL: not processed into {cache.name}/: {", ".join(missing)}'); return 1
    import site_pages
    site_pages.main(cache)
    print(f'docs: {len(nbs)} notebooks processed into {cache.relative_to(ROOT)}/ in {time.time() - t0:.0f} s')
    return 0

if __name__ == '__main__': sys.exit(main())
