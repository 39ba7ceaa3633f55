"""Metrics during GAN training: FID/KID of a sampler against cached real statistics.

Typical use in a trainer::

    from brushwork.metrics import RealStats, evaluate_generator, load_features

    extractor = load_features("inception", device=device)          # or "vgg16-hed" offline
    real = RealStats.cached(data_dir, extractor, cache_dir=run_dir / "cache")
    ...
    every N steps:
        m = evaluate_generator(lambda b: G(torch.randn(b, z_dim, device=device)), real, extractor, n=2048)
        log(step, **m.as_dict())          # {"fid": ..., "kid": ..., "kid_std": ..., "metric_features": ...}

The real statistics are computed once and cached in an ``.npz`` named after a
hash of (source, its file list, feature space, image count); that file is also a
valid pytorch-fid statistics file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .extract import extract_generator, extract_source, source_refs
from .features import FeatureExtractor
from .fid import GaussianStats, fid_from_stats, gaussian_stats
from .kid import kid


@dataclass
class RealStats:
    """Reference statistics of the real images in one feature space.

    Attributes:
        stats: mean ``(D,)`` and covariance ``(D, D)`` of all the real features.
        kid_features: ``(M, D)`` float32 random subset of the real features kept for KID.
        source: where the real images came from.
    """

    stats: GaussianStats
    kid_features: np.ndarray
    source: str

    @property
    def features(self) -> str:
        return self.stats.features

    def save(self, path: str | os.PathLike) -> Path:
        """Write an ``.npz`` (pytorch-fid's ``mu``/``sigma`` plus ``kid_features``), atomically."""
        return self.stats.save(path, kid_features=self.kid_features, source=np.array(self.source))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "RealStats":
        """Read a file written by :meth:`save`."""
        stats = GaussianStats.load(path)
        with np.load(path, allow_pickle=False) as f:
            kid_features = np.asarray(f["kid_features"], np.float32) if "kid_features" in f.files else np.zeros((0, stats.dim), np.float32)
            source = str(f["source"]) if "source" in f.files else str(path)
        return cls(stats=stats, kid_features=kid_features, source=source)

    @classmethod
    def compute(cls, source: str | os.PathLike, extractor: FeatureExtractor, *, max_images: int | None = None,
                kid_samples: int = 1000, batch_size: int = 32, seed: int = 0, progress: bool = False) -> "RealStats":
        """Extract features of ``source`` (folder, zip) and keep their statistics and a KID subset."""
        fs = extract_source(source, extractor, batch_size=batch_size, max_images=max_images, progress=progress)
        rng = np.random.default_rng(seed)
        keep = rng.choice(fs.n, min(kid_samples, fs.n), replace=False)
        return cls(stats=gaussian_stats(fs.features, fs.space), kid_features=fs.features[np.sort(keep)], source=str(source))

    @classmethod
    def cached(cls, source: str | os.PathLike, extractor: FeatureExtractor, *, cache_dir: str | os.PathLike,
               max_images: int | None = None, kid_samples: int = 1000, batch_size: int = 32,
               progress: bool = False) -> "RealStats":
        """:meth:`compute` once, then read it back from ``cache_dir`` while the source's file list is unchanged."""
        names = [ref.name for ref in source_refs(source)]
        key = json.dumps({"source": str(Path(source).resolve()), "files": names, "n_files": len(names),
                          "features": extractor.name, "max_images": max_images, "kid_samples": kid_samples})
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"real-{re.sub(r'[^A-Za-z0-9_.-]', '_', extractor.name)}-{digest}.npz"
        if path.is_file():
            return cls.load(path)
        real = cls.compute(source, extractor, max_images=max_images, kid_samples=kid_samples,
                           batch_size=batch_size, progress=progress)
        real.save(path)
        return real


@dataclass(frozen=True)
class GeneratorMetrics:
    """FID (and KID, when asked) of ``n`` generated samples against :class:`RealStats`."""

    fid: float
    kid_mean: float | None
    kid_std: float | None
    features: str
    n: int
    singular: bool

    def as_dict(self) -> dict[str, float | str | int | None]:
        """Flat values for a training log: ``fid``, ``kid``, ``kid_std``, ``metric_features``, ``metric_n``."""
        return {"fid": self.fid, "kid": self.kid_mean, "kid_std": self.kid_std,
                "metric_features": self.features, "metric_n": self.n}


def evaluate_generator(
    sample: Callable[[int], torch.Tensor],
    real: RealStats,
    extractor: FeatureExtractor,
    *,
    n: int = 2048,
    batch_size: int = 32,
    value_range: tuple[float, float] = (-1.0, 1.0),
    kid_subsets: int = 10,
    kid_subset_size: int = 1000,
    seed: int = 0,
) -> GeneratorMetrics:
    """FID and KID of ``n`` images from ``sample(batch) -> (batch, C, H, W)`` against ``real``.

    Args:
        sample: draws a batch of images (C = 1 or 3) with pixel values in ``value_range``;
            it is called under ``torch.inference_mode`` (put the generator in eval mode, EMA weights
            if you have them).
        real: cached real statistics, in the same feature space as ``extractor``.
        n: number of generated images (default 2048; FID is biased upward at small n, so compare
            only numbers taken with the same n).
        kid_subsets, kid_subset_size: KID subsets (0 subsets or no stored real features: no KID).
        seed: seeds the KID subsets.

    Singular covariances (n no larger than the feature dimension) are allowed
    with a warning; ``singular`` is then set in the result.
    """
    if real.features != extractor.name:
        from ..errors import BrushworkError

        raise BrushworkError(f"real statistics are in the {real.features!r} feature space, the extractor is {extractor.name!r}")
    fs = extract_generator(sample, extractor, n, batch_size=batch_size, value_range=value_range)
    result = fid_from_stats(real.stats, gaussian_stats(fs.features, fs.space), allow_singular=True)
    kid_mean = kid_std = None
    if kid_subsets > 0 and len(real.kid_features) >= 2:
        k = kid(real.kid_features, fs.features, fs.space, subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
        kid_mean, kid_std = k.kid_mean, k.kid_std
    return GeneratorMetrics(fid=result.fid, kid_mean=kid_mean, kid_std=kid_std, features=fs.space, n=fs.n,
                            singular=result.singular)
