"""Streaming feature extraction: images in, one batch at a time, feature arrays out.

Only one batch of decoded images is ever in memory; the features themselves
(``N x D`` float32, 80 MB for 10k Inception vectors) are kept, since KID and
precision/recall need them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from ..data.files import ImageRef, SkipCounter, decode, image_refs
from ..errors import BrushworkError
from ..imageio import IMAGE_SUFFIXES
from .features import FeatureExtractor


@dataclass
class FeatureSet:
    """Features of a set of images.

    Attributes:
        features: ``(N, D)`` float32.
        logits: ``(N, C)`` float32 class logits, where the feature space has them.
        space: name of the feature space.
        source: where the images came from (for messages).
        skipped: unreadable images that were skipped.
    """

    features: np.ndarray
    logits: np.ndarray | None
    space: str
    source: str
    skipped: int = 0

    @property
    def n(self) -> int:
        return int(self.features.shape[0])


def source_refs(src: str | os.PathLike) -> list[ImageRef]:
    """Images of a source: a folder (recursive), a ``.zip``, or one image file; sorted by name."""
    path = Path(src)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return [ImageRef(str(path), path.read_bytes)]
    return image_refs(path)


def _batches(images: Iterable[torch.Tensor], batch_size: int) -> Iterator[torch.Tensor]:
    batch: list[torch.Tensor] = []
    for image in images:
        batch.append(image)
        if len(batch) == batch_size:
            yield torch.stack(batch)
            batch = []
    if batch:
        yield torch.stack(batch)


def extract_batches(batches: Iterable[torch.Tensor], extractor: FeatureExtractor, *, source: str = "batches",
                    skipped: int = 0, on_batch: Callable[[int], None] | None = None) -> FeatureSet:
    """Features of image batches ``(B, 3, H, W)`` in [0, 1] (any size: each image goes through ``prepare``).

    ``on_batch(B)`` is called after each batch (progress bars).

    Raises:
        BrushworkError: no images at all.
    """
    feats, logits = [], []
    for batch in batches:
        if batch.shape[-2:] != (extractor.input_size,) * 2:
            batch = torch.stack([extractor.prepare(image) for image in batch])
        out = extractor(batch)
        feats.append(out.features.numpy())
        if out.logits is not None:
            logits.append(out.logits.numpy())
        if on_batch is not None:
            on_batch(len(batch))
    if not feats:
        raise BrushworkError(f"{source}: no readable images")
    return FeatureSet(np.concatenate(feats), np.concatenate(logits) if logits else None, extractor.name, source, skipped)


def extract_source(
    src: str | os.PathLike,
    extractor: FeatureExtractor,
    *,
    batch_size: int = 32,
    max_images: int | None = None,
    progress: bool = False,
) -> FeatureSet:
    """Features of every readable image in a folder, zip or image file, in batches of ``batch_size``.

    Unreadable images are skipped, counted (``FeatureSet.skipped``) and warned about.
    ``max_images`` keeps the first N images by name. ``progress`` shows a tqdm bar on stderr.

    Raises:
        BrushworkError: the source does not exist, holds no images or none are readable.
    """
    from tqdm import tqdm

    refs = source_refs(src)[:max_images]
    skipped = SkipCounter()

    def images() -> Iterator[torch.Tensor]:
        for ref in refs:
            image = decode(ref, skipped=skipped)
            if image is not None:
                yield extractor.prepare(image)

    with tqdm(total=len(refs), desc=f"{extractor.name} {Path(src).name}", unit="img", disable=not progress,
              leave=False) as bar:
        result = extract_batches(_batches(images(), batch_size), extractor, source=str(src),
                                 on_batch=bar.update)
    result.skipped = skipped.count
    return result


def extract_generator(
    sample: Callable[[int], torch.Tensor],
    extractor: FeatureExtractor,
    n: int,
    *,
    batch_size: int = 32,
    value_range: tuple[float, float] = (-1.0, 1.0),
    source: str = "generator",
) -> FeatureSet:
    """Features of ``n`` images drawn from ``sample(batch) -> (batch, 3, H, W)``.

    ``value_range`` is the range of the sampler's pixels (``(-1, 1)`` for tanh
    generators, ``(0, 1)`` for images); they are mapped to [0, 1] and clamped.
    Single-channel samples are repeated to RGB.
    """
    lo, hi = value_range

    def batches() -> Iterator[torch.Tensor]:
        left = n
        while left > 0:
            size = min(batch_size, left)
            with torch.inference_mode():
                x = sample(size)
            if len(x) == 0:
                raise BrushworkError(f"{source}: the sampler returned no images")
            x = ((x.detach().float() - lo) / (hi - lo)).clamp(0, 1)
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            left -= len(x)
            yield x

    return extract_batches(batches(), extractor, source=source)
