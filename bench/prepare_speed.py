"""First (cold) and second (cached) `prepare` runs on the same source, in one process; prints both times and the ratio.

    python bench/prepare_speed.py [SOURCE]      # default: $MASK_RECOG_DATA/face-mask-4k
"""
import os, sys, json, shutil, tempfile, time
from pathlib import Path
from mask_recog.data import prepare

src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(os.environ.get('MASK_RECOG_DATA', 'data'))/'face-mask-4k'
if not src.exists(): sys.exit(f'{src} not found: pass a source or set MASK_RECOG_DATA')
out = Path(tempfile.mkdtemp())/'prepared'
try:
    times = []
    for run in ['first (cold)', 'second (cached)']:
        t = time.perf_counter(); df = prepare(src, out, progress=False); times.append(time.perf_counter() - t)
        print(f'{run:16s} {times[-1]:7.2f} s  {len(df)} rows')
    rep = json.loads((out/'report.json').read_text())
    print(f'cores: {os.cpu_count()}  reused on the second run: {rep["reused_files"]} files')
    print(f'ratio first / second: {times[0] / times[1]:.1f}x  (second run takes {100 * times[1] / times[0]:.1f}% of the first)')
finally: shutil.rmtree(out.parent, ignore_errors=True)
