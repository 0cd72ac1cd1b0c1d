"The README's front door, as a reader of a fresh clone meets it: its 'run it' command works as printed, on what ships"
import os, re, json, shlex, subprocess
from pathlib import Path
import cv2

ROOT = Path(__file__).resolve().parents[1]

def clone_commands()->list[str]:
    "The shell lines of the README's 'From a clone' block, comments dropped"
    text = (ROOT/'README.md').read_text()
    sec = text.split('## From a clone', 1)[1]
    block = re.search(r'```sh\n(.*?)```', sec, re.S).group(1)
    return [l.split('#', 1)[0].strip() for l in block.splitlines() if l.split('#', 1)[0].strip()]

def test_clone_block_is_install_run_test():
    "Install, then two commands: one runs the main job on what ships, one runs the tests (the command CI runs)"
    cmds = clone_commands()
    assert cmds[0].startswith('pip install -e') and cmds[-1] == 'nbdev-test && pytest' and len(cmds) == 3, cmds

def test_run_command_on_what_ships(detector_models, tmp_path):
    "The README's run command, as printed but for its output folder: labelled faces of the shipped photos, JSON on stdout, annotated copies"
    cmd = shlex.split(clone_commands()[1])
    assert cmd[0] == 'mask-recog-detect' and '--out' in cmd, cmd
    k = cmd.index('--out'); cmd[k + 1] = str(tmp_path/cmd[k + 1])     # in this test's folder, not the checkout
    inputs = [Path(a) for a in cmd[1:k] if not a.startswith('-')]
    assert all((ROOT/p).is_dir() for p in inputs), inputs               # folders that ship inside the package
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, 'MASK_RECOG_MODELS': str(detector_models), 'MASK_RECOG_HOME': str(tmp_path/'home')})
    assert r.returncode == 0, r.stderr[-2000:]
    recs = [json.loads(l) for l in r.stdout.splitlines()]
    photos = sorted(f for p in inputs for f in (ROOT/p).iterdir() if f.suffix.lower() in ('.jpg', '.png'))
    assert sorted(Path(x['source']).name for x in recs) == [f.name for f in photos]
    labels = [f['label'] for x in recs for f in x['faces']]
    assert labels and set(labels) <= {'with_mask', 'without_mask'} and all(0 <= f['prob_with_mask'] <= 1 for x in recs for f in x['faces'])
    for f in photos:                                                    # an annotated copy of each, the photo's size
        out = cv2.imread(str(tmp_path/cmd[k + 1]/f.name))
        assert out is not None and out.shape == cv2.imread(str(f)).shape, f
