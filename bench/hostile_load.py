"""Latency and memory of the web server while hostile uploads arrive, against the same run without them. A real
`mask-recog-serve` process answers `--requests` normal uploads (real photos), one after another as a user sends them,
first alone (baseline), then while `--attackers` threads keep sending hostile uploads: decompression-bomb PNGs (8000×8000,
1 bit, 7.8 KB), JPEG header bombs (7900×8000 claimed in 400 bytes), a JPEG header claiming 6000×6000 (under the pixel
budget, so it is decoded: the most one upload may cost), bodies over the size limit (announced, and sent) and garbage.

    python bench/hostile_load.py [MODEL_DIR] [--requests 30] [--attackers 4] [--settle 5] [--max-side 4096] [--no-trim] [--no-edge]

Prints, for each run: p50/p95 latency of the normal requests, the server's peak RSS (sampled every 20 ms from
/proc/PID/status) and its settled RSS (after `--settle` idle seconds), the ratios hostile / baseline, and how the hostile
uploads were answered. `--no-trim` runs the server without what it does once idle after a burst (detectors reloaded after large frames,
`release_memory`), to see what that changes.
Photos: a few of mask-scenes-571's test photos ($MASK_RECOG_SCENES, or $MASK_RECOG_DATA/mask-scenes-571), else the quick
run's composites of the sample faces. MODEL_DIR defaults to an untrained resnet18 at 64 px (the server's costs are the
decoding and the detectors'; a trained model of that size costs the same). Detector models come from $MASK_RECOG_MODELS
or the download cache. Linux only (/proc).
"""
import os, sys, io, json, time, socket, argparse, tempfile, threading, statistics, subprocess, http.client, collections
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tests'))
from support import free_port, untrained_model  # shared with the tests

p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('model_dir', nargs='?', help='classifier model folder (default: an untrained resnet18 at 64 px, made in a temporary folder)')
p.add_argument('--requests', type=int, default=30, help='normal uploads per run')
p.add_argument('--attackers', type=int, default=4, help='threads sending hostile uploads during the second run')
p.add_argument('--settle', type=float, default=5, help='idle seconds before the settled RSS is read')
p.add_argument('--max-side', type=int, default=None, help="the server's --max-side (default: its own, MAX_FRAME_SIDE)")
p.add_argument('--no-edge', action='store_true', help='leave out the JPEG claiming 6000×6000 (the uploads that pass): only uploads that are refused')
p.add_argument('--no-trim', action='store_true', help='serve without its clean-up once idle (detectors reloaded after large frames, release_memory)')
p.add_argument('--out', help='write the figures here as JSON (the Results page renders its tables from it)')
a = p.parse_args()
if not Path('/proc/self/status').exists(): sys.exit('hostile_load.py reads the server memory from /proc: Linux only')
sys.path.insert(0, str(Path(__file__).parent))
from _record import Record, table
rec = Record()

from PIL import Image
tmp = Path(tempfile.mkdtemp(prefix='hostile_load-'))
if a.model_dir is None:
    a.model_dir = str(untrained_model(tmp/'untrained'))
    model_note = 'an untrained resnet18 at 64 px'
else: model_note = a.model_dir

def scene_photos(n=6)->list[Path]:
    "`n` photos with faces: mask-scenes-571's test split when available, else the quick run's composites"
    root = os.environ.get('MASK_RECOG_SCENES') or (os.environ.get('MASK_RECOG_DATA') and str(Path(os.environ['MASK_RECOG_DATA'])/'mask-scenes-571'))
    if root and (Path(root)/'images'/'test').is_dir(): scenes, src = Path(root), 'mask-scenes-571'
    else:
        from mask_recog.data import get_scenes
        os.environ['MASK_RECOG_HOME'] = str(tmp/'home'); os.environ.pop('MASK_RECOG_SCENES', None)
        scenes, src = get_scenes(quick=True), 'composites of the sample faces'
    photos = sorted(q for q in (scenes/'images'/'test').glob('*') if q.suffix.lower() in ('.jpg', '.jpeg', '.png'))
    return photos[::max(1, len(photos) // n)][:n], src

photos, photo_src = scene_photos()
bodies = [(q.name, q.read_bytes()) for q in photos]

def jpeg_claiming(w, h)->bytes:
    b = io.BytesIO(); Image.new('L', (64, 64)).save(b, 'JPEG'); d = bytearray(b.getvalue())
    i = d.find(b'\xff\xc0'); d[i + 5:i + 9] = h.to_bytes(2, 'big') + w.to_bytes(2, 'big'); return bytes(d)
b = io.BytesIO(); Image.new('1', (8000, 8000)).save(b, 'PNG', optimize=True); BOMB_PNG = b.getvalue()
HOSTILE = {   # kind → (file name, bytes) or a special sender
    'bomb PNG 8000x8000': ('b.png', BOMB_PNG),
    'header bomb JPEG 7900x8000': ('h.jpg', jpeg_claiming(7900, 8000)),
    'budget-edge JPEG 6000x6000': ('e.jpg', jpeg_claiming(6000, 6000)),
    'garbage .jpg': ('g.jpg', os.urandom(20_000)),
    'not an image (.txt)': ('notes.txt', b'hello ' * 1000),
    'oversized body (12 MB sent)': ('big.jpg', b'\xff\xd8\xff' + os.urandom(12 * 2**20)),
    'oversized body (2 GB announced)': None,
}

if a.no_edge: del HOSTILE['budget-edge JPEG 6000x6000']

def multipart(name, data, boundary='----hostileload'):
    return (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data + f'\r\n--{boundary}--\r\n'.encode()), f'multipart/form-data; boundary={boundary}'

def post(port, name, data, timeout=120)->tuple[int, float]:
    "(status, seconds) of one upload; status 0 when the connection broke before an answer"
    body, ctype = multipart(name, data)
    t0 = time.perf_counter()
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        c.request('POST', '/api/detect', body, {'Content-Type': ctype})
        r = c.getresponse(); r.read(); return r.status, time.perf_counter() - t0
    except OSError:
        try: r = c.getresponse(); return r.status, time.perf_counter() - t0   # answered (413) while we were still sending
        except Exception: return 0, time.perf_counter() - t0
    finally: c.close()

def announce_huge(port)->tuple[int, float]:
    t0 = time.perf_counter()
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    try:
        c.putrequest('POST', '/api/detect'); c.putheader('Content-Type', 'multipart/form-data; boundary=x'); c.putheader('Content-Length', str(2**31))
        c.endheaders(); r = c.getresponse(); r.read(); return r.status, time.perf_counter() - t0
    except OSError: return 0, time.perf_counter() - t0
    finally: c.close()

def mem_mb(pid)->dict:
    txt = Path(f'/proc/{pid}/status').read_text()
    return {k: int(txt.split(k + ':')[1].split()[0]) / 1024 for k in ['VmRSS', 'VmHWM']}

class Sampler:
    "The server's VmRSS every 20 ms while running: `.peak` in MB"
    def __init__(self, pid): self.pid, self.peak, self.stop = pid, 0., threading.Event(); self.t = threading.Thread(target=self.run, daemon=True)
    def run(self):
        while not self.stop.is_set(): self.peak = max(self.peak, mem_mb(self.pid)['VmRSS']); time.sleep(.02)
    def __enter__(self): self.t.start(); return self
    def __exit__(self, *_): self.stop.set(); self.t.join()

def start_server(port):
    env = {**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
    if a.no_trim:   # the same app without its clean-up once idle, run by uvicorn directly
        side = f', max_side={a.max_side}' if a.max_side else ''
        code = (f'import uvicorn; from mask_recog.app import make_app; '
                f'uvicorn.run(make_app({a.model_dir!r}, trim=False{side}), host="127.0.0.1", port={port}, log_level="warning")')
        cmd = [sys.executable, '-c', code]
    else:
        from shutil import which
        exe = which('mask-recog-serve')
        cmd = [exe] if exe else [sys.executable, '-c', 'import sys; from mask_recog.cli import serve_cli; sys.argv[0] = "mask-recog-serve"; serve_cli()']
        cmd += ['--model', a.model_dir, '--port', str(port), *(['--max-side', str(a.max_side)] if a.max_side else [])]
    log = open(tmp/'serve.log', 'w')
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    t0 = time.monotonic()
    while True:
        try:
            c = http.client.HTTPConnection('127.0.0.1', port, timeout=2); c.request('GET', '/healthz')
            health = json.loads(c.getresponse().read()); c.close(); return proc, health
        except OSError: pass
        if proc.poll() is not None: sys.exit(f'the server exited with {proc.returncode}:\n{(tmp/"serve.log").read_text()}')
        if time.monotonic() - t0 > 120: proc.kill(); sys.exit('the server did not answer within 120 s')
        time.sleep(.3)

def run(port, pid, hostile:bool)->dict:
    "Normal uploads one after another (with attackers when `hostile`): latencies, peak and settled RSS, hostile answers"
    answers, stop = collections.defaultdict(list), threading.Event()
    kinds = list(HOSTILE)
    def attacker(i):
        k = i
        while not stop.is_set():
            kind = kinds[k % len(kinds)]; k += 1
            s, t = announce_huge(port) if HOSTILE[kind] is None else post(port, *HOSTILE[kind])
            answers[kind].append((s, t))
    threads = [threading.Thread(target=attacker, args=(i,), daemon=True) for i in range(a.attackers if hostile else 0)]
    lat, statuses = [], collections.Counter()
    with Sampler(pid) as smp:
        for t in threads: t.start()
        if hostile: time.sleep(.5)   # the attack is under way
        for i in range(a.requests):
            s, t = post(port, *bodies[i % len(bodies)]); lat.append(t); statuses[s] += 1
        stop.set()
        for t in threads: t.join()
    time.sleep(a.settle)
    q = statistics.quantiles(lat, n=20)
    return {'p50': statistics.median(lat), 'p95': q[18], 'peak': smp.peak, 'settled': mem_mb(pid)['VmRSS'], 'normal': statuses, 'hostile': answers}

port = free_port()
proc, health = start_server(port)
try:
    for nb in bodies[:3]: post(port, *nb)   # warm-up: lazy imports, first allocations
    time.sleep(a.settle)
    idle = mem_mb(proc.pid)['VmRSS']
    print(f'{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; server: mask-recog-serve{" (uvicorn, make_app(trim=False))" if a.no_trim else ""}, '
          f'jobs {health["jobs"]}, wait {health["wait_s"]:g} s, pixel budget {health["max_pixels"] / 1e6:g} MP, max side {health["max_side"]}; classifier: {model_note}')
    print(f'{a.requests} normal uploads a run, one after another: {len(bodies)} photos ({photo_src}: {", ".join(n for n, _ in bodies)}); '
          f'{a.attackers} attacker threads in the hostile run; idle RSS after warm-up {idle:.0f} MB')
    base = run(port, proc.pid, hostile=False)
    host = run(port, proc.pid, hostile=True)
    print(f'\n{"":22s} {"baseline":>10s} {"hostile":>10s} {"ratio":>7s}')
    for k, unit in [('p50', 's'), ('p95', 's'), ('peak', 'MB'), ('settled', 'MB')]:
        f = (lambda v: f'{v:8.3f} s') if unit == 's' else (lambda v: f'{v:7.0f} MB')
        name = {'p50': 'normal latency p50', 'p95': 'normal latency p95', 'peak': 'server RSS peak', 'settled': f'server RSS settled ({a.settle:g} s)'}[k]
        print(f'{name:22s} {f(base[k]):>10s} {f(host[k]):>10s} {host[k] / base[k]:6.2f}×')
    print(f'server VmHWM (lifetime peak) {mem_mb(proc.pid)["VmHWM"]:.0f} MB; settled RSS {host["settled"] - idle:+.0f} MB from idle after warm-up')
    print(f'normal uploads answered: baseline {dict(base["normal"])}, hostile {dict(host["normal"])}')
    print('hostile uploads answered (status: count, median seconds to the answer):')
    for kind in HOSTILE:
        got = host['hostile'].get(kind, [])
        by = collections.Counter(s for s, _ in got)
        print(f'  {kind:33s} {len(got):4d} sent  ' + ', '.join(f'{s or "conn. reset"}: {n}' for s, n in sorted(by.items()))
              + (f'  ({statistics.median(t for _, t in got):.3f} s)' if got else ''))
    print(f'load average {os.getloadavg()[0]:.1f} at the end')
    names = {'p50': 'latency p50', 'p95': 'latency p95', 'peak': 'server RSS peak', 'settled': f'server RSS {a.settle:g} s later'}
    fmt = lambda k, v: f'{v:.3f} s' if k in ('p50', 'p95') else f'{v:,.0f} MB'
    answered = {kind: dict(sent=len(got), statuses={str(s or 'connection reset'): n for s, n in sorted(collections.Counter(s for s, _ in got).items(), key=lambda kv: str(kv[0]))},
                           median_s=round(statistics.median(t for _, t in got), 3) if got else None) for kind, got in ((k, host['hostile'].get(k, [])) for k in HOSTILE)}
    ok = {r: dict(run['normal']) for r, run in (('baseline', base), ('hostile', host))}
    says = (f"Normal uploads answered 200: {ok['baseline'].get(200, 0)} of {a.requests} alone, {ok['hostile'].get(200, 0)} of {a.requests} under hostile load; "
            f"settled memory {host['settled'] / base['settled']:.2f}× the baseline's.")
    rec.write(a.out, requests=a.requests, attackers=a.attackers, settle_s=a.settle, edge=not a.no_edge, trim=not a.no_trim, model=Path(model_note).name,
              server=dict(jobs=health['jobs'], wait_s=health['wait_s'], max_pixels=health['max_pixels'], max_side=health['max_side']), idle_mb=round(idle),
              baseline={k: round(base[k], 3) for k in names}, hostile={k: round(host[k], 3) for k in names}, normal_answers=ok, hostile_answers=answered,
              tables=[table(f'{a.requests} normal uploads, one after another, alone and while {a.attackers} threads send hostile uploads', ['normal uploads', 'alone', 'under hostile load', 'ratio'],
                            [[n, fmt(k, base[k]), fmt(k, host[k]), f'{host[k] / base[k]:.2f}×'] for k, n in names.items()], says),
                      table('How the hostile uploads were answered', ['upload', 'sent', 'answers', 'median time to the answer'],
                            [[k, v['sent'], ', '.join(f'{s}: {n}' for s, n in v['statuses'].items()), '' if v['median_s'] is None else f"{v['median_s']:.3f} s"] for k, v in answered.items() if v['sent']])])
finally:
    proc.terminate()
    try: proc.wait(10)
    except subprocess.TimeoutExpired: proc.kill()
    import shutil; shutil.rmtree(tmp, ignore_errors=True)
