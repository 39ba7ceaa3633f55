"""Images from a folder (recursive) or a zip archive, decoded one at a time.

Unreadable files are skipped with a warning and counted, never crash a run.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch

from ..errors import BrushworkError
from ..imageio import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, load_image


@dataclass(frozen=True)
class ImageRef:
    """One image inside a source: a name for messages and a way to read its bytes."""

    name: str
    read: Callable[[], bytes] = field(compare=False, repr=False)


@dataclass
class SkipCounter:
    """Counts (and remembers the first few) files that could not be decoded."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.examples) < 5:
            self.examples.append(message)
        warnings.warn(f"skipping unreadable image: {message}", stacklevel=3)


def _zip_reader(path: Path, member: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(path) as zf:
            return zf.read(member)

    return read


def image_refs(src: str | os.PathLike) -> list[ImageRef]:
    """All images (by file ending) under a folder, recursively, or inside a ``.zip``; sorted by name.

    Raises:
        BrushworkError: ``src`` does not exist, is not a folder or zip, or holds no images.
    """
    path = Path(src)
    if not path.exists():
        raise BrushworkError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        refs = [ImageRef(str(p), p.read_bytes) for p in files]
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = sorted(n for n in zf.namelist() if not n.endswith("/") and Path(n).suffix.lower() in IMAGE_SUFFIXES)
        refs = [ImageRef(f"{path}:{m}", _zip_reader(path, m)) for m in members]
    else:
        raise BrushworkError(f"{path}: expected a folder of images or a .zip of images")
    if not refs:
        raise BrushworkError(f"{path}: contains no images ({', '.join(IMAGE_SUFFIXES)})")
    return refs


def decode(ref: ImageRef, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, skipped: SkipCounter | None = None) -> torch.Tensor | None:
    """Decode one image to ``(3, H, W)`` floats in [0, 1]; ``None`` (counted) if unreadable."""
    try:
        data = ref.read()
        image = load_image(data, max_pixels=max_pixels)
    except (BrushworkError, OSError, zipfile.BadZipFile) as exc:
        if skipped is None:
            raise BrushworkError(f"{ref.name}: {exc}") from None
        skipped.add(f"{ref.name}: {exc}")
        return None
    return image.rgb


def iter_images(src: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, skipped: SkipCounter | None = None) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield ``(name, image)`` for every readable image in ``src``, one at a time (streaming)."""
    skipped = skipped if skipped is not None else SkipCounter()
    for ref in image_refs(src):
        image = decode(ref, max_pixels=max_pixels, skipped=skipped)
        if image is not None:
            yield ref.name, image
