"""Helpers of .ci/fresh-runtime (the series run as a new user runs it):

    python .ci/fresh_check.py wheel WHEEL                    # the wheel holds the library and its shipped sample
    python .ci/fresh_check.py copy DEST NB...                # copy nbs/NB.ipynb into DEST, leaving out test-flagged cells
    python .ci/fresh_check.py run --work W --executed E --times T --total S NB...   # what the run left; the summary

`run` exits 1 unless every notebook ran, no cell output says it skipped, and WORK holds what the series promises."""
import argparse, csv, json, re, subprocess, sys, tomllib, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = re.compile(r'\bskip(s|ping|ped)?\b', re.I)

def skip_said(t:str):
    "The first 'skip', 'skipping', 'skipped' in output `t`, other than a count of none ('0 skipped')"
    return next((m for m in SKIP.finditer(t) if not re.search(r'(?:^|[^\d.,])0 $', t[max(0, m.start() - 12):m.start()])), None)
N_FACES = 4094  # rows of face-mask-4k's manifest
RELEASE_BUDGET = 12_000_000  # bytes the released model may add to the wheel (issue 23: 12 MB)

def tst_flags()->list[str]:
    "The nbdev test flags (`tst_flags` in pyproject.toml): cells marked with them are left out of test runs"
    cfg = tomllib.loads((ROOT/'pyproject.toml').read_text())
    return str(cfg.get('tool', {}).get('nbdev', {}).get('tst_flags', '')).split()

def check_wheel(wheel:str)->int:
    "Every file of `mask_recog/` that a clone has (the sample included) is in the wheel"
    names = set(zipfile.ZipFile(wheel).namelist())
    files = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '--', 'mask_recog'],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split('\n')
    files = [f for f in files if f and (ROOT/f).is_file() and '__pycache__' not in f]
    missing = [f for f in files if f not in names]
    sample = [n for n in names if n.startswith('mask_recog/sample/')]
    faces = {c: sum(n.startswith(f'mask_recog/sample/faces/{c}/') for n in names) for c in ['with_mask', 'without_mask']}
    print(f'wheel {Path(wheel).name}: {len(names)} files, {len(sample)} of them in mask_recog/sample '
          f"({faces['with_mask']} with_mask, {faces['without_mask']} without_mask faces)")
    z = zipfile.ZipFile(wheel)
    rel = {i.filename: i.compress_size for i in z.infolist() if i.filename.startswith('mask_recog/released/')}
    print(f'released model in the wheel: {", ".join(sorted(rel))}: {sum(rel.values()) / 1e6:.1f} MB compressed (budget {RELEASE_BUDGET / 1e6:.0f} MB)')
    ok = True
    if not {'mask_recog/released/model.json', 'mask_recog/released/model.int8.onnx'} <= set(rel): print('FAIL: the wheel lacks the released model (mask_recog/released/model.json, model.int8.onnx)'); ok = False
    if sum(rel.values()) > RELEASE_BUDGET: print(f'FAIL: the released model adds {sum(rel.values()) / 1e6:.1f} MB to the wheel, over its budget'); ok = False
    if missing: print('FAIL: the wheel lacks', len(missing), 'files of mask_recog/:', *missing[:10]); ok = False
    if not all(faces.values()): print('FAIL: the wheel holds no sample faces of one class or both (mask_recog/sample/faces/...)'); ok = False
    return 0 if ok else 1

def copy_notebooks(dest:str, nbs:list[str])->int:
    "Copy the notebooks into `dest`, leaving out the cells flagged for nbdev-test to leave out (`#| slow`, ...)"
    flags = tst_flags()
    for n in nbs:
        nb = json.loads((ROOT/'nbs'/f'{n}.ipynb').read_text(encoding='utf-8'))
        keep, dropped = [], []
        for i, c in enumerate(nb['cells']):
            src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
            dirs = [d.split() for d in re.findall(r'^#\|\s*(.*)$', src, flags=re.M)]
            if c['cell_type'] == 'code' and any(d and d[0] in flags for d in dirs): dropped.append(i)
            else: keep.append(c)
        nb['cells'] = keep
        (Path(dest)/f'{n}.ipynb').write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding='utf-8')
        if dropped: print(f'{n}: left out cell(s) {dropped}, flagged {"/".join(flags)} (nbdev-test leaves them out too)')
    return 0

def _text(o)->str:
    if o.get('output_type') == 'stream': t = o.get('text', '')
    elif o.get('output_type') == 'error': t = '\n'.join([o.get('ename', ''), o.get('evalue', '')])
    else: t = (o.get('data') or {}).get('text/plain', '')
    return ''.join(t) if isinstance(t, list) else t

def check_run(a)->int:
    work, executed = Path(a.work), Path(a.executed)
    times = {r[0]: (int(r[1]), r[2]) for r in csv.reader(open(a.times), delimiter='\t') if r}
    fails, lines = [], []
    for n in a.notebooks:
        secs, st = times.get(n, (0, 'not run'))
        p = executed/f'{n}.ipynb'
        note = ''
        if st == 'ok' and p.exists():
            nb = json.loads(p.read_text(encoding='utf-8'))
            code = [c for c in nb['cells'] if c['cell_type'] == 'code']
            unrun = [i for i, c in enumerate(nb['cells']) if c['cell_type'] == 'code' and c['source'] and c.get('execution_count') is None]
            said = [(i, m.group(0), _text(o).strip()[:160]) for i, c in enumerate(nb['cells']) if c['cell_type'] == 'code'
                    for o in c.get('outputs', []) for m in [skip_said(_text(o))] if m]
            note = f'{len(code)} code cells'
            if unrun: fails.append(f'{n}: code cells {unrun} were not executed')
            for i, w, t in said: fails.append(f'{n}: cell {i} says {w!r}: {t!r}')
        elif st == 'ok': fails.append(f'{n}: no executed notebook')
        else: fails.append(f'{n}: {st}')
        lines.append(f'  {n:14s} {st:8s} {secs:5d} s  {note}')
    data = work/'data'
    def need(ok, what):
        "An outcome of the whole series: a failure when every notebook was asked for, a note on a partial run"
        lines.append(f"  {'ok  ' if ok else 'FAIL' if a.all else 'not made'} {what}")
        if not ok and a.all: fails.append(what)
    mdir = data/'models'/'face-mask'
    need((mdir/'model.json').is_file() and (mdir/'model.safetensors').is_file(), 'model folder data/models/face-mask (model.json, model.safetensors)')
    metrics = sorted(p.relative_to(work).as_posix() for p in data.rglob('metrics.json')) if data.exists() else []
    need(bool(metrics), f'metrics.json: {", ".join(metrics[:4]) or "none"}')
    figs = sorted(p.name for p in (work/'images').glob('*.png')) if (work/'images').exists() else []
    need(bool(figs), f'{len(figs)} figures in images/: {", ".join(figs)}')
    onnx = sorted(p.relative_to(work).as_posix() for p in data.rglob('model.onnx')) if data.exists() else []
    need(bool(onnx), f'ONNX export: {", ".join(onnx[:4]) or "none"}')
    man = data/'prepared'/'faces'/'manifest.csv'
    rows = sum(1 for _ in csv.DictReader(open(man, newline='', encoding='utf-8'))) if man.is_file() else 0
    need(rows == N_FACES, f'data/prepared/faces/manifest.csv: {rows:,} rows (expected {N_FACES:,})')
    # figures the notebooks' pages show that this run did not make (made elsewhere, e.g. on a GPU or by the browser test)
    shown = set()
    for n in a.notebooks:
        nb = json.loads((ROOT/'nbs'/f'{n}.ipynb').read_text(encoding='utf-8'))
        for c in nb['cells']:
            if c['cell_type'] == 'markdown': shown |= set(re.findall(r'images/([\w.-]+\.png)', ''.join(c['source'])))
    if other := sorted(shown - set(figs)): lines.append(f'  note: figures shown in these pages but not made by this run: {", ".join(other)}')
    ran = sum(times.get(n, (0, ''))[1] == 'ok' for n in a.notebooks)
    print(f'== fresh runtime: {ran} of {len(a.notebooks)} notebooks ran, {sum(t for t, _ in times.values())} s in notebooks, {a.total} s in all')
    print('\n'.join(lines))
    if fails:
        print('FAIL: fresh runtime:'); print('\n'.join(f'  - {f}' for f in fails)); return 1
    print('fresh runtime OK: every notebook ran, no cell skipped, and the run left a model, metrics, figures, an ONNX export and the full manifest')
    return 0

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    w = sub.add_parser('wheel'); w.add_argument('wheel')
    c = sub.add_parser('copy'); c.add_argument('dest'); c.add_argument('notebooks', nargs='+')
    r = sub.add_parser('run'); r.add_argument('notebooks', nargs='+')
    for k in ['work', 'executed', 'times', 'total']: r.add_argument(f'--{k}', required=True)
    r.add_argument('--all', action='store_true', help='the whole series ran: check everything it makes')
    a = ap.parse_args()
    if a.cmd == 'wheel': sys.exit(check_wheel(a.wheel))
    if a.cmd == 'copy': sys.exit(copy_notebooks(a.dest, a.notebooks))
    sys.exit(check_run(a))
