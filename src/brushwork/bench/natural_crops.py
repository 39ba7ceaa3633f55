"""A small natural-image data set we can build offline: random square crops of real photos.

Sources: the content photos in the project's shared data folder (when present) and
scikit-image's bundled colour photos. Each photo is scaled so its short side is
``4 * size`` px, then ``n`` random ``size`` px crops (random photo, position and mirror,
seeded) are written as PNGs. The folder is built once and cached under the Brushwork
cache (``$BRUSHWORK_CACHE/datasets``), named after its parameters and sources.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def source_photos(shared: str | os.PathLike | None) -> list[tuple[str, torch.Tensor]]:
    """``(name, (3, H, W) in [0, 1])`` of every source photo (shared content photos + scikit-image)."""
    from ..data.bundled import bundled_photo
    from ..data.files import iter_images

    out = [(f"skimage:{name}", bundled_photo(name)) for name in SKIMAGE_PHOTOS]
    folder = Path(shared) / "content" if shared else None
    if folder is not None and folder.is_dir():
        out += [(f"shared:{name}", img[:3] if img.shape[0] >= 3 else img.expand(3, -1, -1)) for name, img in iter_images(folder)]
    return out


def _scaled(img: torch.Tensor, short: int) -> torch.Tensor:
    h, w = img.shape[1:]
    s = short / min(h, w)
    size = (max(short, round(h * s)), max(short, round(w * s)))
    return F.interpolate(img[None], size=size, mode="bicubic", antialias=True, align_corners=False)[0].clamp(0, 1)


def natural_crops(size: int = 32, n: int = 2000, *, seed: int = 0, shared: str | os.PathLike | None = None, cache: str | os.PathLike | None = None) -> Path:
    """The folder of ``n`` crops of ``size`` px (built on first use, then reused)."""
    from ..imageio import save_image
    from ..weights import cache_dir

    photos = source_photos(shared)
    names = ",".join(name for name, _ in photos)
    key = hashlib.sha256(f"{size}|{n}|{seed}|{names}".encode()).hexdigest()[:12]
    root = Path(cache) if cache else cache_dir() / "datasets"
    folder = root / f"natural-crops-{size}px-{n}-{key}"
    if folder.is_dir():
        return folder
    scaled = [_scaled(img, 4 * size) for _, img in photos]
    g = torch.Generator().manual_seed(seed)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".building-"))
    try:
        for i in range(n):
            img = scaled[int(torch.randint(len(scaled), (), generator=g))]
            top = int(torch.randint(img.shape[1] - size + 1, (), generator=g))
            left = int(torch.randint(img.shape[2] - size + 1, (), generator=g))
            crop = img[:, top : top + size, left : left + size]
            if torch.rand((), generator=g) < 0.5:
                crop = crop.flip(2)
            save_image(crop, tmp / f"{i:05d}.png")
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
