"""First (cold) and second (cached) `prepare` runs on the same source, in one process; prints both times and the ratio,
and with `--out` writes them as JSON with what the dataset step found (the prepared report's counts), the command, the
machine and the date: the Results page renders its dataset table from that file.

    python bench/prepare_speed.py [SOURCE] [--out bench/results/prepare_face-mask-4k.json]   # SOURCE: $MASK_RECOG_DATA/face-mask-4k
"""
import os, sys, json, shutil, tempfile, time, argparse, platform, datetime
from pathlib import Path
from mask_recog.data import prepare

ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
ap.add_argument('source', nargs='?', default=str(Path(os.environ.get('MASK_RECOG_DATA', 'data'))/'face-mask-4k'), help='a dataset folder')
ap.add_argument('--out', help='write the figures here as JSON')
a = ap.parse_args()
src = Path(a.source)
if not src.exists(): sys.exit(f'{src} not found: pass a source or set MASK_RECOG_DATA')
out = Path(tempfile.mkdtemp())/'prepared'
try:
    times, load = [], os.getloadavg()[0]
    for run in ['first (cold)', 'second (cached)']:
        t = time.perf_counter(); df = prepare(src, out, progress=False); times.append(time.perf_counter() - t)
        print(f'{run:16s} {times[-1]:7.2f} s  {len(df)} rows')
    rep = json.loads((out/'report.json').read_text())
    print(f'cores: {os.cpu_count()}  reused on the second run: {rep["reused_files"]} files')
    print(f'ratio first / second: {times[0] / times[1]:.1f}x  (second run takes {100 * times[1] / times[0]:.1f}% of the first)')
    if a.out:
        keep = ['rows', 'files', 'labels', 'splits', 'status', 'exact_duplicates', 'near_duplicate_groups', 'groups_spanning_splits']
        found = {k: rep[k] for k in keep} | {'quarantined': len(rep['quarantined']), 'conflicts': rep['conflicts'], 'flagged': rep['flagged'],
                                            'params': {k: rep['params'][k] for k in ('valid_pct', 'test_pct', 'seed', 'max_dist', 'min_side')}}
        from _record import cpu_name
        cpu = cpu_name()
        res = dict(source=src.name, seconds=dict(first=round(times[0], 2), second=round(times[1], 2)), ratio=round(times[0] / times[1], 1), found=found,
                   command=f'python bench/prepare_speed.py $MASK_RECOG_DATA/{src.name} --out {a.out}',
                   machine=dict(cpu=cpu, cores=os.cpu_count(), python=platform.python_version(), load_average_at_start=round(load, 2)),
                   date=datetime.date.today().isoformat())
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
        print(f'wrote {a.out}')
finally: shutil.rmtree(out.parent, ignore_errors=True)
