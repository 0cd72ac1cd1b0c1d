"""Write README.md from nbs/index.ipynb (what nbdev-readme does, without Quarto): markdown cells as they are,
code cells as python blocks with their text outputs (markdown outputs as markdown; `#| echo: false` cells show only their output); cells marked `#| hide` and `#| eval: false` installs are left out.

Links: index.ipynb lives in nbs/ and is the docs site's home page, so its relative links are written from there
(`01_data.ipynb`, which Quarto turns into `01_data.html`; `../images/x.png`, which .ci/site_pages.py brings into the
site). README.md sits at the repository's root: each relative link is rewritten from nbs/ to the root
(`nbs/01_data.ipynb`, `images/x.png`)."""
import posixpath, re, sys, nbformat
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def from_root(m):
    "A markdown or HTML link target relative to nbs/, rewritten relative to the repository's root"
    pre, url = m.group(1), m.group(2)
    if re.match(r'[a-zA-Z][\w+.-]*:|[#/]', url): return m.group(0)  # http:, mailto:, anchors, absolute paths
    path, sep, frag = url.partition('#')
    return pre + posixpath.normpath(posixpath.join('nbs', path)) + sep + frag

LINK = re.compile(r'''(\]\(\s*<?|^\s*\[[^\]]+\]:\s*|\b(?:src|href)\s*=\s*["'])([^)\s>"']+)''', re.M)
nb = nbformat.read(root/'nbs'/'index.ipynb', as_version=4)
out = ['<!-- WARNING: generated from nbs/index.ipynb by .ci/make_readme.py; edit the notebook, not this file -->', '']
for c in nb.cells:
    src = c.source
    dirs = re.findall(r'^#\|\s*(.*)$', src, flags=re.M)
    if any(d.strip().startswith(('hide', 'include: false')) for d in dirs): continue
    body = re.sub(r'^#\|.*\n?', '', src, flags=re.M).strip()
    if c.cell_type == 'markdown':
        out += [LINK.sub(from_root, body), '']
        continue
    if any(d.strip().startswith('echo: false') for d in dirs): body = ''
    if body: out += ['```python', body, '```', '']
    for o in c.get('outputs', []):
        if o.get('name') == 'stderr': continue  # warnings are not documentation
        md = (o.get('data') or {}).get('text/markdown')
        if md: out += [''.join(md).strip(), '']; continue  # a table a cell renders (e.g. from a JSON): markdown, as the site shows it
        txt = o.get('text') or (o.get('data', {}) or {}).get('text/plain', '')
        if isinstance(txt, list): txt = ''.join(txt)
        if txt.strip(): out += ['```', txt.rstrip('\n'), '```', '']
        if 'image/png' in (o.get('data') or {}): pass  # figures are committed under images/ and linked from markdown
text = '\n'.join(out).replace('\r\n', '\n').rstrip() + '\n'
dest = root/'README.md'
if not dest.exists() or dest.read_bytes() != text.encode('utf-8'):
    dest.write_bytes(text.encode('utf-8'))
    print('README.md updated', file=sys.stderr)
