"""Metrics between image sources: what ``brushwork eval`` calls.

A *source* is a folder of images (recursive), a ``.zip`` of images, a single
image file, a GAN run folder (``samples`` images drawn from its generator, EMA
weights when kept, read by the options' ``run_features``), or (for FID) a statistics ``.npz``. Networks are loaded only when a
source needs features, so ``fid a.npz b.npz`` works without any weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..errors import BrushworkError
from .extract import FeatureSet, extract_source
from .features import FeatureExtractor, load_features
from .fid import FIDResult, GaussianStats, fid_from_stats, gaussian_stats
from .inception_score import ISResult, inception_score
from .kid import KIDResult, kid
from .prdc import PRDCResult, prdc


@dataclass
class EvalOptions:
    """How features are extracted.

    Attributes:
        features: feature-space name (``inception``, ``vgg16-hed``, ``classifier:PATH``).
        weights: local weights file for that space (``--weights PATH``), else the registry's.
        device: ``cpu``, ``cuda`` ...
        batch_size: images per forward pass (default 32).
        max_images: use at most this many images per source (first by name).
        progress: show progress bars on stderr.
        samples: images drawn from a GAN run folder (default 10,000, the usual FID sample count).
        seed: seed of the first sampling batch from a GAN run.
        run_features: ``fn(src, options)``: features sampled from a run folder, None when ``src`` is
            not one (``brushwork eval`` passes :func:`brushwork.gan.source.run_features`).
    """

    features: str = "inception"
    weights: str | os.PathLike | None = None
    device: str | torch.device = "cpu"
    batch_size: int = 32
    max_images: int | None = None
    progress: bool = False
    samples: int = 10_000
    seed: int = 0
    run_features: Callable[[str | os.PathLike, EvalOptions], FeatureSet | None] | None = None
    _extractor: FeatureExtractor | None = field(default=None, init=False, repr=False)

    def extractor(self) -> FeatureExtractor:
        """The (cached) extractor for these options."""
        if self._extractor is None:
            self._extractor = load_features(self.features, weights=self.weights, device=self.device)
        return self._extractor


def is_stats_file(src: str | os.PathLike) -> bool:
    """Whether ``src`` names a statistics ``.npz`` (rather than images)."""
    return Path(src).suffix.lower() == ".npz"


def source_features(src: str | os.PathLike, options: EvalOptions, *, what: str = "this metric") -> FeatureSet:
    """Features of the images in ``src`` (refuses statistics files: ``what`` needs samples)."""
    if is_stats_file(src):
        raise BrushworkError(f"{src}: {what} needs images, not a statistics file (only FID works from mean and covariance)")
    sampled = options.run_features(src, options) if options.run_features is not None else None
    if sampled is not None:
        return sampled
    return extract_source(src, options.extractor(), batch_size=options.batch_size, max_images=options.max_images,
                          progress=options.progress)


def source_stats(src: str | os.PathLike, options: EvalOptions) -> tuple[GaussianStats, int]:
    """Statistics of ``src`` (read from an ``.npz`` or computed from its images) and its skipped-image count."""
    if is_stats_file(src):
        if not Path(src).is_file():
            raise BrushworkError(f"{src}: no such statistics file")
        return GaussianStats.load(src), 0
    fs = source_features(src, options)
    return gaussian_stats(fs.features, fs.space), fs.skipped


def fid_between(a: str | os.PathLike, b: str | os.PathLike, options: EvalOptions, *,
                allow_singular: bool = False) -> tuple[FIDResult, int]:
    """FID between two sources; returns the result and the number of skipped unreadable images.

    With ``allow_singular=False`` (the CLI's default) a set with no more images
    than feature dimensions is refused with a message saying what FID would mean.
    """
    sa, skip_a = source_stats(a, options)
    sb, skip_b = source_stats(b, options)
    return fid_from_stats(sa, sb, allow_singular=allow_singular), skip_a + skip_b


def kid_between(a: str | os.PathLike, b: str | os.PathLike, options: EvalOptions, *,
                subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> KIDResult:
    """KID between the images of two sources (see :func:`brushwork.metrics.kid.kid`)."""
    fa, fb = source_features(a, options, what="KID"), source_features(b, options, what="KID")
    return kid(fa.features, fb.features, fa.space, subsets=subsets, subset_size=subset_size, seed=seed)


def inception_score_of(src: str | os.PathLike, options: EvalOptions, *, splits: int = 10) -> ISResult:
    """Inception Score of a source's images (needs a feature space with logits)."""
    extractor = options.extractor()
    if not extractor.has_logits:
        raise BrushworkError(f"the {extractor.name} feature space has no class logits: use --features inception or classifier:PATH")
    fs = source_features(src, options, what="the Inception Score")
    assert fs.logits is not None
    return inception_score(fs.logits, fs.space, splits=splits)


def prdc_between(real: str | os.PathLike, fake: str | os.PathLike, options: EvalOptions, *,
                 k: int = 3, k_dc: int = 5) -> PRDCResult:
    """Precision, recall, density and coverage of ``fake``'s images against ``real``'s."""
    fr = source_features(real, options, what="precision/recall")
    ff = source_features(fake, options, what="precision/recall")
    return prdc(fr.features, ff.features, fr.space, k=k, k_dc=k_dc)


def write_stats(src: str | os.PathLike, out: str | os.PathLike, options: EvalOptions) -> tuple[GaussianStats, int]:
    """Compute ``src``'s statistics and write them to ``out`` (pytorch-fid's npz layout)."""
    if is_stats_file(src):
        raise BrushworkError(f"{src}: is already a statistics file")
    stats, skipped = source_stats(src, options)
    stats.save(out)
    return stats, skipped
