"""Image grids and strips (torchvision's ``make_grid`` is unavailable here), plus 2-D scatter plots."""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from PIL import Image

from .fsutil import atomic_path
from .imageio import save_image


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """Tile ``(N, C, H, W)`` images into one ``(3, rows*(H+p)+p, nrow*(W+p)+p)`` image.

    ``nrow`` images per row (default ``ceil(sqrt(N))``); ``padding`` px between tiles filled
    with ``pad_value``; 1-channel images are repeated to RGB. Values are not rescaled.
    """
    if images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"expected a non-empty (N, C, H, W) batch, got shape {tuple(images.shape)}")
    images = images.detach().float().cpu()
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = torch.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding), float(pad_value))
    for i in range(n):
        r, k = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, top : top + h, left : left + w] = images[i]
    return grid


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None, padding: int = 2) -> None:
    """Write ``(N, C, H, W)`` images in ``[0, 1]`` as one grid image, atomically (format by file ending)."""
    save_image(make_grid(images.clamp(0, 1), nrow=nrow, padding=padding), path)


def save_gif(frames: torch.Tensor, path: str | os.PathLike, duration_ms: int = 80) -> None:
    """Write ``(T, C, H, W)`` frames in ``[0, 1]`` as a looping GIF, atomically."""
    arr = (frames.detach().clamp(0, 1).cpu() * 255 + 0.5).to(torch.uint8)
    if arr.shape[1] == 1:
        arr = arr.repeat(1, 3, 1, 1)
    pil = [Image.fromarray(a.permute(1, 2, 0).numpy()) for a in arr]
    with atomic_path(path) as tmp:
        pil[0].save(tmp, format="GIF", save_all=True, append_images=pil[1:], duration=duration_ms, loop=0)


def scatter_image(points: torch.Tensor, extent: float, size: int = 256, reference: torch.Tensor | None = None) -> torch.Tensor:
    """Render 2-D ``points`` ``(N, 2)`` within ``[-extent, extent]^2`` as a ``(3, size, size)`` image.

    Points are dark blue on white; optional ``reference`` points (e.g. mode centres) are red.
    """
    img = np.ones((size, size, 3), dtype=np.float32)

    def plot(p: torch.Tensor, colour: tuple[float, float, float], radius: int) -> None:
        xy = ((p.detach().cpu().numpy() + extent) / (2 * extent) * (size - 1)).round().astype(int)
        for dx in range(-radius, radius + 1):
            for dy in range(-radius, radius + 1):
                x, y = xy[:, 0] + dx, (size - 1) - xy[:, 1] + dy
                ok = (x >= 0) & (x < size) & (y >= 0) & (y < size)
                img[y[ok], x[ok]] = colour

    plot(points, (0.1, 0.2, 0.6), 0)
    if reference is not None:
        plot(reference, (0.9, 0.1, 0.1), 1)
    return torch.from_numpy(img).permute(2, 0, 1)
