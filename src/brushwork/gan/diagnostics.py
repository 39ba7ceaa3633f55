"""Cheap mode-collapse signals logged while training.

* 2-D mixtures: :func:`brushwork.gan.mixture.mixture_scores` on fresh samples.
* Images: :func:`diversity`, the mean pairwise distance between generated images divided by
  the same for real images (about 1 when G is as varied as the data, near 0 when it has
  collapsed onto a few outputs). :data:`COLLAPSE_THRESHOLD` is where the trainer warns.
"""

from __future__ import annotations

import torch

COLLAPSE_THRESHOLD = 0.25


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance between distinct pairs of ``x`` ``(N, ...)``, flattened per sample."""
    f = x.detach().reshape(x.shape[0], -1).double()
    n = f.shape[0]
    if n < 2:
        return 0.0
    d = torch.cdist(f, f)
    return float(d.sum() / (n * (n - 1)))


def diversity(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Pairwise-distance ratio ``mpd(fake) / mpd(real)`` (both ``(N, C, H, W)`` in the same range)."""
    ref = mean_pairwise_distance(real)
    return mean_pairwise_distance(fake) / ref if ref > 0 else 0.0
