"""Write README.md from nbs/index.ipynb (what nbdev-readme does, without Quarto): markdown cells as they are,
code cells as python blocks with their text outputs; cells marked `#| hide` and `#| eval: false` installs are left out."""
import re, sys, nbformat
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb = nbformat.read(root/'nbs'/'index.ipynb', as_version=4)
out = ['<!-- WARNING: generated from nbs/index.ipynb by .ci/make_readme.py; edit the notebook, not this file -->', '']
for c in nb.cells:
    src = c.source
    dirs = re.findall(r'^#\|\s*(.*)$', src, flags=re.M)
    if any(d.strip().startswith(('hide', 'include: false')) for d in dirs): continue
    body = re.sub(r'^#\|.*\n?', '', src, flags=re.M).strip()
    if c.cell_type == 'markdown':
        out += [body, '']
        continue
    if any(d.strip().startswith('echo: false') for d in dirs): body = ''
    if body: out += ['```python', body, '```', '']
    for o in c.get('outputs', []):
        if o.get('name') == 'stderr': continue  # warnings are not documentation
        txt = o.get('text') or (o.get('data', {}) or {}).get('text/plain', '')
        if isinstance(txt, list): txt = ''.join(txt)
        if txt.strip(): out += ['```', txt.rstrip('\n'), '```', '']
        if 'image/png' in (o.get('data') or {}): pass  # figures are committed under images/ and linked from markdown
text = '\n'.join(out).replace('\r\n', '\n').rstrip() + '\n'
dest = root/'README.md'
if not dest.exists() or dest.read_bytes() != text.encode('utf-8'):
    dest.write_bytes(text.encode('utf-8'))
    print('README.md updated', file=sys.stderr)
