"""The training images of the style trainers, held in memory and drawn as random crops.

:class:`CropPool` reads every image of some files and folders (plus scikit-image's bundled
photos when asked), leaving out the file names a run holds out, and samples random crops of
random scale and position with random horizontal flips from a generator the caller owns (and
its checkpoint stores), so a resumed run draws the very same crops.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..data.bundled import bundled_photo
from ..data.files import SkipCounter, iter_images
from ..errors import BrushworkError
from ..imageio import load_image, resize, resize_long_side

BUNDLED = ("astronaut", "chelsea", "coffee", "rocket")


class CropPool:
    """Images held in memory (short side at most ``2 * size``), sampled as random crops."""

    def __init__(self, images: list[torch.Tensor], size: int, name: str) -> None:
        if not images:
            raise BrushworkError(f"{name}: no readable images")
        self.images, self.size, self.name = images, size, name

    @classmethod
    def from_sources(cls, sources: list[str], size: int, bundled: bool = False, exclude: tuple[str, ...] = ()) -> "CropPool":
        """Every image of the given files / folders (plus the bundled photos) whose file name (a
        bundled photo's name) is not in ``exclude``; BrushworkError if none."""
        images, skipped = [], SkipCounter()
        for src in sources:
            if Path(src).is_file() and not src.lower().endswith(".zip"):
                images += [load_image(src).rgb] if Path(src).name not in exclude else []
            else:
                images += [img for name, img in iter_images(src, skipped=skipped) if Path(name).name not in exclude]
        images += [bundled_photo(n) for n in BUNDLED if n not in exclude] if bundled else []
        return cls([shrink(img, 2 * size) for img in images], size, ", ".join(sources))

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """``(n, 3, size, size)``: random image, crop of 50-100 % of its short side, random flip."""
        out = []
        for _ in range(n):
            img = self.images[int(torch.randint(len(self.images), (1,), generator=gen))]
            h, w = img.shape[-2:]
            side = max(1, int(min(h, w) * (0.5 + 0.5 * float(torch.rand((), generator=gen)))))
            top = int(torch.randint(h - side + 1, (1,), generator=gen))
            left = int(torch.randint(w - side + 1, (1,), generator=gen))
            crop = resize(img[:, top : top + side, left : left + side], (self.size, self.size))
            out.append(crop.flip(-1) if bool(torch.rand((), generator=gen) < 0.5) else crop)
        return torch.stack(out)

    def fixed(self, n: int) -> torch.Tensor:
        """The first ``n`` images, centre-cropped to ``size`` (for previews)."""
        from ..data.datasets import center_crop_resize

        return torch.stack([center_crop_resize(img, self.size) for img in self.images[:n]])


def shrink(img: torch.Tensor, short: int) -> torch.Tensor:
    """``img`` with its short side brought down to ``short`` px (unchanged if already smaller)."""
    h, w = img.shape[-2:]
    return resize_long_side(img, round(max(h, w) * short / min(h, w))) if min(h, w) > short else img
