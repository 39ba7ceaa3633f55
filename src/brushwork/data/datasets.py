"""In-memory training sets (image folders and zips, scikit-learn digits, 2-D Gaussian
mixtures) and the deterministic batch order that makes resumed and data-parallel runs exact.

Every data set is a :class:`TensorData`: all samples in one tensor, images as
``(N, C, H, W)`` floats in ``[0, 1]``, points as ``(N, 2)``. Batches come from
:func:`batch_indices`: epoch ``e`` is a permutation seeded by ``(seed, e)``, so the
position in training (a count of batches) is the whole data-loader state.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import BrushworkError
from .files import SkipCounter, decode, image_refs

RING_STD = 0.01
GRID_STD = 0.05


@dataclass
class TensorData:
    """A whole data set in memory.

    ``x``: ``(N, C, H, W)`` images in ``[0, 1]`` or ``(N, 2)`` points; ``y``: ``(N,)`` class
    labels or ``None``; ``num_classes``: 0 when unlabelled; ``skipped``: unreadable files.
    """

    x: torch.Tensor
    y: torch.Tensor | None = None
    num_classes: int = 0
    skipped: int = 0
    name: str = ""

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. ``(1, 32, 32)`` or ``(2,)``."""
        return tuple(self.x.shape[1:])


def center_crop_resize(image: torch.Tensor, size: int) -> torch.Tensor:
    """``(C, H, W)`` -> ``(C, size, size)``: central square crop, then antialiased bicubic resize, clamped to [0, 1]."""
    _, h, w = image.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = image[:, top : top + s, left : left + s]
    if s != size:
        crop = F.interpolate(crop[None], size=(size, size), mode="bicubic", antialias=True, align_corners=False)[0]
    return crop.clamp(0, 1)


def load_image_folder(src: str | os.PathLike, size: int, channels: int = 3) -> TensorData:
    """Every image in a folder (recursive) or ``.zip``, centre-cropped and resized to ``size`` px.

    Unreadable files are skipped with a warning and counted in ``skipped``.
    ``channels`` 1 converts to grey (ITU-R 601 luma). Raises BrushworkError when no
    image could be read.
    """
    skipped = SkipCounter()
    images = []
    for ref in image_refs(src):
        img = decode(ref, skipped=skipped)
        if img is None:
            continue
        img = center_crop_resize(img, size)
        if channels == 1:
            img = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]).unsqueeze(0)
        images.append(img)
    if not images:
        raise BrushworkError(f"{src}: none of its {skipped.count} images could be read")
    return TensorData(torch.stack(images), skipped=skipped.count, name=str(src))


def load_digits(size: int = 16) -> TensorData:
    """scikit-learn's 1,797 8x8 handwritten digits, resized (bilinear) to ``(1797, 1, size, size)`` in [0, 1], labels 0-9."""
    if not 8 <= size <= 128:
        raise BrushworkError(f"digits: image size must be between 8 and 128 px, not {size}")
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return TensorData(x, torch.tensor(d.target, dtype=torch.long), 10, name="digits")


def mixture_centers(name: str) -> torch.Tensor:
    """Mode centres: ``ring`` = 8 points ``(cos 2πk/8, sin 2πk/8)``; ``grid`` = 25 points on ``{-4,-2,0,2,4}^2``."""
    if name == "ring":
        k = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return torch.stack([torch.cos(k), torch.sin(k)], dim=1).float()
    if name == "grid":
        v = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        return torch.cartesian_prod(v, v)
    raise BrushworkError(f"unknown mixture {name!r} (ring or grid)")


def mixture_std(name: str) -> float:
    """Per-coordinate standard deviation of each mode: 0.01 (ring), 0.05 (grid)."""
    if name not in ("ring", "grid"):
        raise BrushworkError(f"unknown mixture {name!r} (ring or grid)")
    return RING_STD if name == "ring" else GRID_STD


def sample_mixture(name: str, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points ``(n, 2)`` from the equal-weight mixture and their mode indices ``(n,)``."""
    centers = mixture_centers(name)
    modes = torch.randint(0, len(centers), (n,), generator=generator)
    noise = torch.randn(n, 2, generator=generator) * mixture_std(name)
    return centers[modes] + noise, modes


def load_mixture(name: str, n: int = 100_000, seed: int = 0) -> TensorData:
    """A fixed training set of ``n`` mixture points drawn with ``seed`` (PacGAN uses 100,000)."""
    g = torch.Generator().manual_seed(int(seed) + 7919)
    x, _ = sample_mixture(name, n, g)
    return TensorData(x, None, 0, name=name)


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The sample order of ``epoch``: a permutation of ``range(n)`` seeded by ``(seed, epoch)``."""
    g = torch.Generator().manual_seed((int(seed) * 1_000_003 + int(epoch)) % (2**63))
    return torch.randperm(n, generator=g)


def batch_indices(position: int, n: int, batch_size: int, seed: int, *, rank: int = 0, world: int = 1) -> torch.Tensor:
    """Indices of global batch number ``position`` (0-based), this process's slice.

    Each epoch holds ``n // batch_size`` full batches (the remainder is dropped); the
    global batch is split into ``world`` equal consecutive slices and ``rank`` gets its own.
    """
    per_epoch = n // batch_size
    if per_epoch == 0:
        raise BrushworkError(f"data set of {n} samples is smaller than one batch of {batch_size}")
    epoch, k = divmod(position, per_epoch)
    perm = epoch_permutation(n, seed, epoch)
    idx = perm[k * batch_size : (k + 1) * batch_size]
    local = batch_size // world
    return idx[rank * local : (rank + 1) * local]


class BatchOrder:
    """:func:`batch_indices` with the current epoch's permutation cached.

    ``order(position)`` returns this process's indices of global batch ``position``.
    """

    def __init__(self, n: int, batch_size: int, seed: int, *, rank: int = 0, world: int = 1) -> None:
        if batch_size % world:
            raise BrushworkError(f"batch size {batch_size} must be divisible by the {world} processes")
        if n // batch_size == 0:
            raise BrushworkError(f"data set of {n} samples is smaller than one batch of {batch_size}")
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def __call__(self, position: int) -> torch.Tensor:
        epoch, k = divmod(position, self.n // self.batch_size)
        if epoch != self._epoch:
            self._epoch, self._perm = epoch, epoch_permutation(self.n, self.seed, epoch)
        local = self.batch_size // self.world
        start = k * self.batch_size + self.rank * local
        return self._perm[start : start + local]
