"""Seconds each console script takes to print its `--help` (and `--version`), in a fresh process, against the 1.5 s
target of issue 23; the baseline measured in the same run is the Python interpreter starting and exiting.

    python bench/cli_help.py [--repeat 3] [--out bench/results/cli_help.json]

Each command is run `--repeat` times; the best time counts (the others are the machine's noise)."""
import argparse, json, os, platform, shutil, subprocess, sys, time, tomllib, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.5  # seconds

p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
p.add_argument('--repeat', type=int, default=3, help='runs of each command; the best counts')
p.add_argument('--out', help='write the figures here as JSON')
a = p.parse_args()

scripts = sorted(tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['scripts'])

def best(cmd:list)->float:
    "The shortest wall time of `cmd` over `--repeat` runs (it must exit 0)"
    ts = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        ts.append(time.perf_counter() - t)
        if r.returncode != 0: raise SystemExit(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr[-500:]}")
    return min(ts)

base = best([sys.executable, '-c', 'pass'])
rows = {}
for s in scripts:
    exe = shutil.which(s)
    if exe is None: raise SystemExit(f'{s} is not installed: pip install -e . first')
    rows[s] = dict(help_s=round(best([exe, '--help']), 2), version_s=round(best([exe, '--version']), 2))
    h = rows[s]['help_s']
    print(f"{s:24s} --help {h:5.2f} s   --version {rows[s]['version_s']:5.2f} s   {'ok' if h <= TARGET else f'over {TARGET} s by {h - TARGET:.2f} s'}")
worst = max(rows.values(), key=lambda r: r['help_s'])['help_s']
n_ok = sum(r['help_s'] <= TARGET for r in rows.values())
print(f'python -c pass: {base:.2f} s (the floor); {n_ok} of {len(rows)} commands under {TARGET} s; slowest --help {worst:.2f} s, {worst / base:.1f}x the floor')
if a.out:
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(dict(target_s=TARGET, python_floor_s=round(base, 3), commands=rows, under_target=n_ok,
                                           machine=dict(cores=os.cpu_count(), python=platform.python_version()),
                                           date=datetime.date.today().isoformat(), command=' '.join(sys.argv)), indent=2) + '\n')
