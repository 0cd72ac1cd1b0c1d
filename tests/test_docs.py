"The pages' generated outputs: a table read from a JSON and shown in the README fails CI once a figure in it is edited by hand"
import re, sys, json, pytest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'.ci'))
from check_outputs import stale_outputs, typed_figures, _texts  # noqa: E402  (the checks `.ci/run` runs on the pages)

def _edit_first_figure(nb:dict)->tuple[str, str]:
    "Change the first number in the second column of the first markdown table a cell of `nb` rendered (its last digit, +1); return (old, new)"
    for c in nb['cells']:
        for o in c.get('outputs', []):
            md = (o.get('data') or {}).get('text/markdown')
            if not md: continue
            text = ''.join(md)
            for row in re.finditer(r'(?m)^\|[^|\n]*\|([^|\n]*)\|', text):
                m = re.search(r'\d[\d,.]*\d|\d', row.group(1))
                if not m: continue
                old = m.group(0); new = old[:-1] + str((int(old[-1]) + 1) % 10)
                at = row.start(1) + m.start()
                o['data']['text/markdown'] = text[:at] + new + text[at + len(old):]
                return old, new
    raise AssertionError('no markdown table with a number in the page')

def test_saved_tables_match_their_json():
    "The README's page as committed: its results table is what the card's JSON gives now"
    assert stale_outputs(ROOT/'nbs'/'index.ipynb') == []

def test_stream_chunks_compare_as_one():
    "A kernel may cut one stdout stream anywhere (CI saw `--help` cut mid-line): the chunks compare as the text they make, stderr aside"
    line = '  --device (str)         cuda, mps or cpu'
    whole = {'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': line + '\n'}]}
    cut = {'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': line[:16]},
                       {'output_type': 'stream', 'name': 'stderr', 'text': 'a warning\n'},
                       {'output_type': 'stream', 'name': 'stdout', 'text': line[16:] + '\n'}]}
    assert _texts(cut) == _texts(whole) == [line]
    other = {'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': line[:16] + '\n' + line[16:]}]}
    assert _texts(other) != _texts(whole)  # a real line break still counts

@pytest.mark.parametrize('page', ['index.ipynb', '11_results.ipynb'])
def test_hand_edited_figure_fails(page, tmp_path):
    "The same page with one figure of its table edited by hand: the check names the cell and both numbers"
    nb = json.loads((ROOT/'nbs'/page).read_text())
    old, new = _edit_first_figure(nb)
    (tmp_path/page).write_text(json.dumps(nb))
    problems = stale_outputs(tmp_path/page, cwd=ROOT/'nbs')
    assert len(problems) == 1 and f'{page} cell' in problems[0], problems
    assert new in problems[0] and old in problems[0], problems[0]

def test_declared_figures_are_saved(tmp_path):
    "A page's declared figure cells (`#| fig-cap:`) hold their pictures, small; the same page with one picture dropped fails the render check"
    from render_check import figure_outputs
    bad, sizes = figure_outputs('05_evaluate')
    assert bad == [] and len(sizes) >= 3 and max(sizes) <= 150_000, (bad, sizes)
    nb = json.loads((ROOT/'nbs'/'05_evaluate.ipynb').read_text())
    fig = next(c for c in nb['cells'] if c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| fig-cap:'))
    fig['outputs'] = [o for o in fig['outputs'] if 'image/png' not in o.get('data', {})]
    (tmp_path/'05_evaluate.ipynb').write_text(json.dumps(nb))
    bad, _ = figure_outputs('05_evaluate', tmp_path/'05_evaluate.ipynb')
    assert len(bad) == 1 and 'has no saved picture' in bad[0], bad

def test_no_figure_typed_in_prose(tmp_path):
    "No page types a measured figure in its prose; the Results page with one sentence of typed figures fails, naming them"
    assert [p for nb in sorted((ROOT/'nbs').glob('*.ipynb')) for p in typed_figures(nb)] == []
    nb = json.loads((ROOT/'nbs'/'11_results.ipynb').read_text())
    cell = next(c for c in nb['cells'] if c['cell_type'] == 'markdown' and 'stream_speed.py' in ''.join(c['source']))
    cell['source'] = ''.join(cell['source']) + '\nThe default ran 60.2 frames/s, 2.30× every frame; settings such as `10` MB or 640×480 are not figures.'
    (tmp_path/'11_results.ipynb').write_text(json.dumps(nb))
    problems = typed_figures(tmp_path/'11_results.ipynb')
    assert len(problems) == 1 and '60.2 frames/s' in problems[0] and '2.30×' in problems[0] and '10' not in problems[0].split(':')[1], problems
