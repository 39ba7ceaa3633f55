"""Run an image-to-image function over overlapping tiles and blend them back together.

For images too large to process at once: each tile is processed separately and the
overlaps are cross-faded with linear ramps, so no hard seams appear at tile borders.
"""

from __future__ import annotations

from typing import Callable

import torch


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def _ramp(n: int, overlap: int, first: bool, last: bool) -> torch.Tensor:
    w = torch.ones(n)
    k = min(overlap, n // 2)
    if k > 0:
        ramp = torch.linspace(0, 1, k + 2)[1:-1]
        if not first:
            w[:k] = ramp
        if not last:
            w[n - k :] = ramp.flip(0)
    return w


def run_tiled(fn: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, tile: int, overlap: int = 64) -> torch.Tensor:
    """Apply ``fn`` (``(3, h, w)`` -> ``(3, h, w)``) to ``image`` ``(3, H, W)`` in tiles of at most
    ``tile`` px that overlap by ``overlap`` px. An image no larger than a tile goes through at once."""
    _, h, w = image.shape
    if h <= tile and w <= tile:
        return fn(image)
    overlap = max(0, min(overlap, tile // 2))
    step = tile - overlap
    out = torch.zeros_like(image)
    weight = torch.zeros(1, h, w, dtype=image.dtype, device=image.device)
    ys, xs = _starts(h, tile, step), _starts(w, tile, step)
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            th, tw = min(tile, h), min(tile, w)
            piece = fn(image[:, y : y + th, x : x + tw])
            wy = _ramp(th, overlap, i == 0, i == len(ys) - 1)
            wx = _ramp(tw, overlap, j == 0, j == len(xs) - 1)
            m = (wy[:, None] * wx[None, :]).to(image)[None]
            out[:, y : y + th, x : x + tw] += piece * m
            weight[:, y : y + th, x : x + tw] += m
    return out / weight.clamp_min(1e-8)
