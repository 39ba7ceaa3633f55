"""DiffAugment (Zhao et al. 2020): differentiable augmentation applied to real *and* fake
images before the discriminator, for data-efficient training on small data sets.

Operations (images ``(N, C, H, W)`` in the generator's range):

* ``color``: brightness ``+U(-0.5, 0.5)``, saturation ``x U(0, 2)`` around the channel mean,
  contrast ``x U(0.5, 1.5)`` around the image mean;
* ``translation``: integer shift by up to 1/8 of the size, zeros shifted in;
* ``cutout``: a zeroed square of half the size at a random position.

Randomness comes from an explicit ``torch.Generator`` and is drawn for the *global* batch
(``global_n`` samples) and sliced at ``offset``, so data-parallel processes that each hold
a slice augment exactly as one process with the whole batch would.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def parse_policy(policy: str) -> list[str]:
    """``"translation,cutout,color"`` -> operation names in the order they are applied."""
    ops = [p.strip() for p in policy.split(",") if p.strip()]
    order = ("color", "translation", "cutout")
    return [op for op in order if op in ops]


def _rand(gen: torch.Generator, n: int, offset: int, count: int, *shape: int) -> torch.Tensor:
    return torch.rand(n, *shape, generator=gen)[offset : offset + count]


def _randint(gen: torch.Generator, low: int, high: int, n: int, offset: int, count: int) -> torch.Tensor:
    return torch.randint(low, high, (n,), generator=gen)[offset : offset + count]


def color(x: torch.Tensor, gen: torch.Generator, n: int, offset: int) -> torch.Tensor:
    """Random brightness, saturation and contrast (see module docstring)."""
    b = x.shape[0]
    r = _rand(gen, n, offset, b, 3).to(x.device, x.dtype).view(b, 3, 1, 1, 1)
    x = x + (r[:, 0] - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (r[:, 1] * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (r[:, 2] + 0.5) + mean


def translation(x: torch.Tensor, gen: torch.Generator, n: int, offset: int, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by integers in ``[-ratio * size, ratio * size]``, filling with zeros."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(gen, -sh, sh + 1, n, offset, b).to(x.device)
    dx = _randint(gen, -sw, sw + 1, n, offset, b).to(x.device)
    rows = (torch.arange(h, device=x.device).view(1, h) + dy.view(b, 1) + 1).clamp(0, h + 1)  # (b, h)
    cols = (torch.arange(w, device=x.device).view(1, w) + dx.view(b, 1) + 1).clamp(0, w + 1)  # (b, w)
    padded = F.pad(x, [1, 1, 1, 1])
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    out = padded.permute(0, 2, 3, 1)[batch, rows.view(b, h, 1), cols.view(b, 1, w)]  # (b, h, w, c)
    return out.permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, gen: torch.Generator, n: int, offset: int, ratio: float = 0.5) -> torch.Tensor:
    """Zero a ``ratio * size`` square per image at a random position (may hang over the border)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _randint(gen, 0, h + (1 - ch % 2), n, offset, b).to(x.device)
    cx = _randint(gen, 0, w + (1 - cw % 2), n, offset, b).to(x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    top = (cy - ch // 2).view(b, 1, 1)
    left = (cx - cw // 2).view(b, 1, 1)
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)  # (b, h, w)
    return x * (~inside).unsqueeze(1).to(x.dtype)


OPS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: str, gen: torch.Generator, *, global_n: int | None = None, offset: int = 0) -> torch.Tensor:
    """Apply the ``policy`` operations to ``x`` ``(N, C, H, W)``; differentiable in ``x``.

    ``global_n`` (default ``N``) and ``offset`` select this process's slice of the
    randomness drawn for the global batch.
    """
    n = x.shape[0] if global_n is None else global_n
    for op in parse_policy(policy):
        x = OPS[op](x, gen, n, offset)
    return x
