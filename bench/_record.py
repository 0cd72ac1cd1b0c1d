"""What every bench script writes with `--out`: its figures, the tables the Results page renders from them, the command
that made them, the machine (CPU or GPU, cores, load average at the start and at the end), the versions and the date.

    rec = Record()                        # at the start: notes the load average
    ...
    rec.write(a.out, tables=[table('title', ['col', ...], rows, says='…')], figures={...})

The page (`nbs/11_results.ipynb`) renders `tables` as they are: a number changes only when a script writes it.
"""
import os, sys, platform, datetime
from pathlib import Path

def cpu_name()->str:
    "The CPU's model name (Linux: /proc/cpuinfo), else what `platform` knows"
    info = Path('/proc/cpuinfo')
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    return platform.processor() or platform.machine()

def gpu_name()->str|None:
    "The CUDA device's name when torch is loaded and sees one"
    torch = sys.modules.get('torch')
    return torch.cuda.get_device_name(0) if torch is not None and torch.cuda.is_available() else None

def table(title:str, columns:list, rows:list, says:str='')->dict:
    "One table of a result: its title, column names, rows of already formatted cells, and a sentence of what it shows"
    return dict(title=title, columns=list(columns), rows=[[str(c) for c in r] for r in rows], says=says)

def portable(arg:str)->str:
    "A command-line argument with the data and model folders written as their variables, and the checkout as `.`: no machine paths"
    root = str(Path(__file__).resolve().parents[1])
    for var in ('MASK_RECOG_DATA', 'MASK_RECOG_MODELS'):
        if (v := os.environ.get(var)): arg = arg.replace(str(Path(v).resolve()), f'${var}').replace(v.rstrip('/'), f'${var}')
    arg = arg.replace(root + '/', '').replace(root, '.')
    return arg.replace(str(Path.home()) + '/', '~/') if str(Path.home()) != '/' else arg

def portable_all(obj):
    "`obj` with `portable` applied to every string in it"
    if isinstance(obj, str): return portable(obj)
    if isinstance(obj, dict): return {k: portable_all(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)): return [portable_all(v) for v in obj]
    return obj

class Record:
    "The machine and the command of one bench run, written beside its figures"
    def __init__(self): self.load0 = os.getloadavg()[0]
    def machine(self)->dict:
        torch = sys.modules.get('torch')
        return dict(cpu=cpu_name(), cores=os.cpu_count(), gpu=gpu_name(), python=platform.python_version(),
                    torch=getattr(torch, '__version__', None), load_average=[round(self.load0, 2), round(os.getloadavg()[0], 2)])
    def write(self, out:str|None, **figures)->dict:
        "Write `figures` (with `tables`) to `out` as JSON, with the command, the machine and the date; nothing when `out` is None"
        res = dict(portable_all(figures), command=' '.join(['python', 'bench/' + Path(sys.argv[0]).name] + [portable(x) for x in sys.argv[1:]]),
                   machine=self.machine(), date=datetime.date.today().isoformat())
        if out:
            from mask_recog.core import save_json
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            save_json(res, out); print(f'wrote {out}')
        return res
