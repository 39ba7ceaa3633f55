"""Training data for translation: two domain folders (unpaired), aligned pairs (two folders
with matching file names, or side-by-side ``A|B`` images), and batches drawn from them.

Images are decoded once, resized so the short side is ``load_size`` and centre-cropped to a
square; each step then takes a random ``size`` crop (the same crop for both halves of a pair)
and a random horizontal flip, all from one explicit generator so a resumed run draws the same
batches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.files import SkipCounter, decode, image_refs
from ..errors import BrushworkError
from ..imageio import resize


@dataclass
class TranslationData:
    """Domain images ``a`` ``(N, 3, L, L)`` and ``b`` ``(M, 3, L, L)`` in [0, 1]; with ``paired``,
    ``a[i]`` and ``b[i]`` are aligned (and ``N == M``)."""

    a: torch.Tensor
    b: torch.Tensor
    paired: bool
    skipped: int = 0


def square(image: torch.Tensor, side: int) -> torch.Tensor:
    """Resize ``(3, H, W)`` so its short side is ``side`` (antialiased), then centre-crop to ``side`` x ``side``."""
    h, w = image.shape[-2:]
    scale = side / min(h, w)
    image = resize(image, (max(side, round(h * scale)), max(side, round(w * scale))))
    h, w = image.shape[-2:]
    top, left = (h - side) // 2, (w - side) // 2
    return image[..., top : top + side, left : left + side].contiguous()


def _decode_all(src: str | os.PathLike, skipped: SkipCounter) -> list[tuple[str, torch.Tensor]]:
    out = []
    for ref in image_refs(src):
        img = decode(ref, skipped=skipped)
        if img is not None:
            out.append((ref.name, img))
    if not out:
        raise BrushworkError(f"{src}: none of its images could be read")
    return out


def _stack(images: list[torch.Tensor], side: int) -> torch.Tensor:
    return torch.stack([square(x, side) for x in images])


def load_unpaired(a: str | os.PathLike, b: str | os.PathLike, load_size: int) -> TranslationData:
    """Two domain folders (or zips) of any images; BrushworkError when either is empty or unreadable."""
    skipped = SkipCounter()
    xa = _stack([x for _, x in _decode_all(a, skipped)], load_size)
    xb = _stack([x for _, x in _decode_all(b, skipped)], load_size)
    return TranslationData(xa, xb, paired=False, skipped=skipped.count)


def _key(name: str, root: str | os.PathLike) -> str:
    """A file's name relative to its folder, without the extension (how pairs are matched)."""
    p = Path(name)
    try:
        p = p.relative_to(Path(root))
    except ValueError:
        pass
    return str(p.with_suffix(""))


def load_paired(a: str | os.PathLike, b: str | os.PathLike | None, load_size: int) -> TranslationData:
    """Aligned pairs for pix2pix: folders ``a`` and ``b`` with the same file names (extensions may
    differ), or, without ``b``, side-by-side images in ``a`` (left half A, right half B).

    Raises BrushworkError when no names match, when some files of either folder have no
    partner, or when a side-by-side image is not about twice as wide as high.
    """
    skipped = SkipCounter()
    if b is None:
        pairs = []
        for name, img in _decode_all(a, skipped):
            h, w = img.shape[-2:]
            if abs(w - 2 * h) > 0.1 * w:
                raise BrushworkError(f"{name}: a side-by-side pair must be twice as wide as high (A left, B right), not {w}x{h}; or give --b")
            pairs.append((img[..., : w // 2], img[..., w // 2 :]))
    else:
        da = {_key(n, a): x for n, x in _decode_all(a, skipped)}
        db = {_key(n, b): x for n, x in _decode_all(b, skipped)}
        common = sorted(set(da) & set(db))
        if not common:
            raise BrushworkError(f"{a} and {b}: no file names in common; pix2pix needs aligned pairs with matching names (cyclegan trains on unpaired folders)")
        lonely = sorted(set(da) ^ set(db))
        if lonely:
            raise BrushworkError(f"{a} and {b}: {len(lonely)} image(s) without a partner (e.g. {lonely[0]!r}); pix2pix needs every image paired")
        pairs = [(da[k], db[k]) for k in common]
    xa = _stack([p[0] for p in pairs], load_size)
    xb = _stack([p[1] for p in pairs], load_size)
    return TranslationData(xa, xb, paired=True, skipped=skipped.count)


def _crop_flip(x: torch.Tensor, size: int, top: torch.Tensor, left: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    out = torch.stack([img[:, t : t + size, l : l + size] for img, t, l in zip(x, top.tolist(), left.tolist())])
    return torch.where(flip.view(-1, 1, 1, 1), out.flip(-1), out)


def sample_batch(data: TranslationData, size: int, batch: int, flip: bool, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A random training batch ``(a, b)``, each ``(batch, 3, size, size)`` in ``[-1, 1]``.

    Paired data: the same indices, crops and flips for both. Unpaired: independent draws.
    Everything random comes from ``gen`` (drawn in a fixed order).
    """
    side = data.a.shape[-1]

    def draw(n: int) -> tuple[torch.Tensor, ...]:
        idx = torch.randint(0, n, (batch,), generator=gen)
        top, left = torch.randint(0, side - size + 1, (2, batch), generator=gen)
        flips = (torch.rand(batch, generator=gen) < 0.5) & flip
        return idx, top, left, flips

    ia, *geo_a = draw(len(data.a))
    ib, *geo_b = (ia, *geo_a) if data.paired else draw(len(data.b))
    a = _crop_flip(data.a[ia], size, *geo_a)
    b = _crop_flip(data.b[ib], size, *geo_b)
    return a * 2 - 1, b * 2 - 1


def fixed_batch(data: TranslationData, size: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` images of each domain, centre crops in ``[-1, 1]`` (for sample grids)."""
    side = data.a.shape[-1]
    o = (side - size) // 2
    a, b = data.a[:n, :, o : o + size, o : o + size], data.b[:n, :, o : o + size, o : o + size]
    return a * 2 - 1, b * 2 - 1
