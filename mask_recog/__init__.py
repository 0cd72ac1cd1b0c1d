__version__ = "0.0.1"

import warnings as _warnings
# fastai's import calls `torch.jit.script`, deprecated since torch 2.9: a warning on every command that concerns fastai, not the user
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)

# The front door (step 9, `mask_recog.api`): `from mask_recog import MaskRecog`. Loaded on first use, so that importing
# a light module (the command line's --help, `mask_recog.core`) does not load PyTorch.
_API = {'MaskRecog': 'api', 'Results': 'api', 'Face': 'detect', 'released_model': 'core', 'sample_path': 'core'}
__all__ = list(_API)

def __getattr__(name):
    if name in _API:
        import importlib
        return getattr(importlib.import_module(f'{__name__}.{_API[name]}'), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

def __dir__(): return sorted(list(globals()) + list(_API))
