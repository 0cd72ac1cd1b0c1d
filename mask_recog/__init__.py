__version__ = "0.0.1"

import warnings as _warnings
# fastai's import calls `torch.jit.script`, deprecated since torch 2.9: a warning on every command that concerns fastai, not the user
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
