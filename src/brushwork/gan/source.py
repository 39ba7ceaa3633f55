"""A GAN run folder as an image source: sample N images from its generator on the fly.

Uses the sampling API (:func:`brushwork.gan.sample.load_generator` and
:func:`~brushwork.gan.sample.sample`); the EMA weights are used when the run
kept them. Nothing is written to disk.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import BrushworkError
from ..metrics.extract import FeatureSet, extract_generator
from ..metrics.features import FeatureExtractor
from ..training.runs import is_run, read_run


def is_gan_run(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a Brushwork GAN run folder (has a ``run.json`` of kind ``gan``)."""
    return is_run(path) and read_run(path).get("kind") == "gan"


def gan_run_features(
    run_dir: str | os.PathLike,
    extractor: FeatureExtractor,
    *,
    n: int,
    batch_size: int = 32,
    seed: int = 0,
    ema: bool | None = None,
    device: str = "cpu",
) -> FeatureSet:
    """Features of ``n`` images sampled from the newest checkpoint of ``run_dir``.

    Batch ``i`` is drawn with seed ``seed + i``, so results are reproducible.
    ``ema=None`` takes the EMA weights when the run has them.

    Raises:
        BrushworkError: not a GAN run, no checkpoint, or a generator of 2-D points rather than images.
    """
    from .sample import load_generator, sample

    gen = load_generator(run_dir, ema=ema, device=device)
    if not gen.is_image:
        raise BrushworkError(f"{run_dir}: this run generates {gen.sample_shape}-shaped points, not images")
    calls = iter(range(1 << 62))

    def draw(size: int):
        return sample(gen, size, seed=seed + next(calls))

    label = f"{run_dir} ({'EMA' if gen.ema else 'raw'} generator, step {gen.step})"
    return extract_generator(draw, extractor, n, batch_size=batch_size, value_range=(0.0, 1.0), source=label)


def run_features(src: str | os.PathLike, options: Any) -> FeatureSet | None:
    """Features of a GAN run's samples for :class:`brushwork.metrics.evaluate.EvalOptions`
    (its ``samples``, ``batch_size``, ``seed`` and ``device``); None when ``src`` is no GAN run."""
    if not is_gan_run(src):
        return None
    return gan_run_features(src, options.extractor(), n=options.samples, batch_size=options.batch_size,
                            seed=options.seed, device=str(options.device))
