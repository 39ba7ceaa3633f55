"""Optional FID / KID every N steps while training, through :mod:`brushwork.metrics`.

Real statistics of the training folder are computed once and cached under
``<run>/cache``; generated images come from the sampling model (EMA when kept) with a
private, seeded noise generator, so evaluating never changes the training trajectory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import BrushworkError
from .config import GANConfig
from .models import Generator


class FIDHook:
    """``hook(G) -> {"fid", "kid", "kid_std", "metric_features", "metric_n"}`` for an image folder run.

    Loads the feature extractor (``cfg.train.fid_features``: ``inception``, ``vgg16-hed`` or
    ``classifier:PATH``) and the real statistics when constructed, so missing weights fail
    before training starts.
    """

    def __init__(self, cfg: GANConfig, run_dir: Path, device: torch.device) -> None:
        from ..metrics.features import load_features
        from ..metrics.training import RealStats

        if cfg.data.dataset != "folder":
            raise BrushworkError("train.fid_every needs data.dataset folder (FID compares with the image files)")
        self.cfg, self.device = cfg, device
        self.extractor = load_features(cfg.train.fid_features, device=device)
        self.real = RealStats.cached(cfg.data.path, self.extractor, cache_dir=Path(run_dir) / "cache")

    def __call__(self, G: Generator, step: int) -> dict[str, Any]:
        from ..metrics.training import evaluate_generator

        gen = torch.Generator().manual_seed(self.cfg.train.seed + 99)
        was = G.training
        G.eval()

        def draw(batch: int) -> torch.Tensor:
            z = torch.randn(batch, G.z_dim, generator=gen).to(self.device)
            y = torch.randint(0, G.num_classes, (batch,), generator=gen).to(self.device) if G.num_classes else None
            return G.to_unit(G(z, y))

        try:
            m = evaluate_generator(draw, self.real, self.extractor, n=self.cfg.train.fid_samples, value_range=(0.0, 1.0), kid_subset_size=min(1000, self.cfg.train.fid_samples))
        finally:
            G.train(was)
        return m.as_dict()
