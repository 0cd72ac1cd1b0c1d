"""Host cost of the training augmentations: fastai's `aug_transforms` (as `mask_augs()` builds them) against `BatchAug`, same
settings, same batch, same process. At 8 px the arithmetic is negligible and what is left is the per-batch work of the host
(Python, op dispatch, waits), which is what a fast GPU waits for; at the model's size it adds the arithmetic (on a CPU).
Then the cost of each detector-framing group (`BatchAug(framing=...)`: box, small, camera, all, at their default
probabilities) as a ratio against today's `BatchAug()` in the same run.

    python bench/aug_speed.py                     # batch 64, 8 px and 224 px, on the CPU, one thread
    python bench/aug_speed.py --device cuda       # on a GPU (synchronized timings)
"""
import argparse, time, warnings
import torch
from fasttransform import Pipeline
from fastai.torch_core import TensorImage
from mask_recog.augment import BatchAug, mask_augs, FRAMING_GROUPS
warnings.filterwarnings('ignore')

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--device', default='cpu'); ap.add_argument('--bs', type=int, default=64)
ap.add_argument('--sizes', type=int, nargs='+', default=[8, 224]); ap.add_argument('--threads', type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
dev = torch.device(a.device)
sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
fa, ba = Pipeline(mask_augs(), split_idx=0), BatchAug()
for size in a.sizes:
    x = torch.rand(a.bs, 3, size, size, device=dev)
    ms = {}
    for name, f in [('fastai aug_transforms', lambda: fa(TensorImage(x))), ('BatchAug', lambda: ba(x))]:
        for _ in range(3): f()
        sync(); n = 50 if size <= 32 or dev.type == 'cuda' else 5; t = time.perf_counter()
        for _ in range(n): f()
        sync(); ms[name] = (time.perf_counter() - t) / n * 1e3
        print(f'{size:4d} px  {name:22s} {ms[name]:8.2f} ms per batch of {a.bs}')
    print(f'{size:4d} px  BatchAug is {ms["fastai aug_transforms"] / ms["BatchAug"]:.1f}x faster')

print(f'\nframing groups at their default probabilities, against BatchAug() (framing off), batch of {a.bs} on {dev}')
for size in a.sizes:
    x = torch.rand(a.bs, 3, size, size, device=dev)
    ms = {}
    for name in ('', *FRAMING_GROUPS, 'all'):
        aug = BatchAug(framing=name)
        torch.manual_seed(0)
        for _ in range(3): aug(x)
        sync(); n = 50 if size <= 32 or dev.type == 'cuda' else 5; t = time.perf_counter()
        for _ in range(n): aug(x)
        sync(); ms[name] = (time.perf_counter() - t) / n * 1e3
        print(f'{size:4d} px  {"framing=" + repr(name):22s} {ms[name]:8.2f} ms per batch  {ms[name] / ms[""]:5.2f}x')
