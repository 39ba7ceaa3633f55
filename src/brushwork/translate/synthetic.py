"""Synthetic translation tasks built from photos we have: crops of the shared content photos
and scikit-image's bundled photos are domain A; the same crops, rendered deterministically,
are domain B, so every output has a ground truth.

Renderings: ``sepia`` (sepia toning: the Rec. 601 luma times a warm tint whose own luma is 1,
clipped; like darkroom toning it maps a toned print to itself), ``warm`` (a golden-hour grade:
per-channel gamma 0.45 / 0.85 / 2.0, invertible, so CycleGAN's cycle can be met exactly),
``grey`` (Rec. 601 luma), ``blur`` (Gaussian, sigma = size / 32 px) and ``edges`` (Sobel magnitude of the luma
as dark lines on white). Test crops come from photos never used for training.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data.bundled import bundled_photo
from ..errors import BrushworkError
from ..imageio import load_image, save_image, resize

TASKS = ("sepia", "warm", "grey", "blur", "edges")
SHARED_CONTENT = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "content"
TRAIN_BUNDLED, TEST_BUNDLED = ("astronaut", "chelsea", "rocket"), ("coffee",)
TEST_SHARED = ("flowers.jpg", "newyork.jpg")

LUMA = torch.tensor([0.299, 0.587, 0.114])
WARM_GAMMA = torch.tensor([0.45, 0.85, 2.0])
SEPIA_TINT = torch.tensor([1.2, 0.96, 0.72]) / float(LUMA @ torch.tensor([1.2, 0.96, 0.72]))


def render(task: str, x: torch.Tensor) -> torch.Tensor:
    """Domain B of ``task`` for images ``x`` ``(N, 3, H, W)`` in [0, 1] (same shape, [0, 1])."""
    if task == "warm":
        return x.clamp(0, 1) ** WARM_GAMMA.view(1, 3, 1, 1).to(x.dtype)
    luma = torch.einsum("j,njhw->nhw", LUMA, x).unsqueeze(1)
    if task == "sepia":
        return (luma * SEPIA_TINT.view(1, 3, 1, 1)).clamp(0, 1)
    if task == "grey":
        return luma.expand_as(x).clone()
    if task == "blur":
        sigma = x.shape[-1] / 32
        r = max(1, int(3 * sigma))
        k = torch.exp(-(torch.arange(-r, r + 1, dtype=x.dtype) ** 2) / (2 * sigma**2))
        k = (k / k.sum()).view(1, 1, 1, -1).expand(3, 1, 1, -1)
        y = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k, groups=3)
        return F.conv2d(F.pad(y, (0, 0, r, r), mode="reflect"), k.transpose(-1, -2), groups=3)
    if task == "edges":
        sx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=x.dtype).view(1, 1, 3, 3)
        p = F.pad(luma, (1, 1, 1, 1), mode="replicate")
        mag = torch.sqrt(F.conv2d(p, sx) ** 2 + F.conv2d(p, sx.transpose(-1, -2)) ** 2)
        return (1 - (mag * 2).clamp(0, 1)).expand_as(x).clone()
    raise BrushworkError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")


def photos(split: str) -> list[torch.Tensor]:
    """The photos of ``split`` (``train`` or ``test``) as ``(3, H, W)`` in [0, 1]: bundled ones always,
    the shared content photos where ``../shared/data`` is present."""
    names = TRAIN_BUNDLED if split == "train" else TEST_BUNDLED
    out = [bundled_photo(n) for n in names]
    if SHARED_CONTENT.is_dir():
        files = sorted(p for p in SHARED_CONTENT.iterdir() if p.suffix.lower() in (".jpg", ".png"))
        out += [load_image(p).rgb for p in files if (p.name in TEST_SHARED) == (split == "test")]
    return out


def photo_crops(n: int, size: int, split: str, seed: int = 0, zoom: int = 3) -> torch.Tensor:
    """``n`` random ``size`` px crops ``(n, 3, size, size)`` of the ``split`` photos, each photo first
    resized so its short side is ``zoom * size`` (so a crop shows a recognisable part of it)."""
    g = torch.Generator().manual_seed(seed + (0 if split == "train" else 7919))
    scaled = []
    for img in photos(split):
        h, w = img.shape[-2:]
        s = zoom * size / min(h, w)
        scaled.append(resize(img, (max(size, round(h * s)), max(size, round(w * s)))))
    crops = []
    for i in range(n):
        img = scaled[i % len(scaled)]
        h, w = img.shape[-2:]
        t = int(torch.randint(0, h - size + 1, (), generator=g))
        l = int(torch.randint(0, w - size + 1, (), generator=g))
        crops.append(img[:, t : t + size, l : l + size])
    return torch.stack(crops)


def make_task(task: str, n: int, size: int, split: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A, B)``: ``n`` photo crops and their rendering, both ``(n, 3, size, size)`` in [0, 1]."""
    a = photo_crops(n, size, split, seed)
    return a, render(task, a)


def write_task(out: str | os.PathLike, task: str, size: int, n_train: int, n_test: int, seed: int = 0) -> dict[str, str]:
    """Write ``trainA``, ``trainB``, ``testA``, ``testB`` folders of PNGs (matching names) under ``out``.

    The train folders suit pix2pix as they are and CycleGAN too (it ignores the pairing).
    Returns the four folder paths by name.
    """
    root = Path(out)
    folders = {}
    for split, n in (("train", n_train), ("test", n_test)):
        a, b = make_task(task, n, size, split, seed)
        for domain, images in (("A", a), ("B", b)):
            folder = root / f"{split}{domain}"
            for i, img in enumerate(images):
                save_image(img, folder / f"{i:05d}.png")
            folders[f"{split}{domain}"] = str(folder)
    return folders
