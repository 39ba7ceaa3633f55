"""Fixed-noise sample grids and diagnostics (mode coverage, diversity) of a GAN in training."""

from __future__ import annotations

from pathlib import Path

import torch

from ..data.datasets import mixture_centers, mixture_std
from ..imagegrid import save_grid, scatter_image
from ..imageio import save_image
from .config import GANConfig
from .diagnostics import diversity
from .mixture import EVAL_SAMPLES, mixture_scores
from .models import Generator
from .parts import GANParts


def sampling_model(p: GANParts) -> Generator:
    """The EMA generator when there is one, else G (callers switch it to eval mode)."""
    return p.ema.shadow if p.ema is not None else p.G  # type: ignore[return-value]


@torch.no_grad()
def generate(G: Generator, z: torch.Tensor, y: torch.Tensor | None, chunk: int = 256) -> torch.Tensor:
    """``G(z, y)`` in eval mode, in chunks, restoring G's train/eval mode afterwards."""
    was = G.training
    G.eval()
    try:
        outs = [G(z[i : i + chunk], None if y is None else y[i : i + chunk]) for i in range(0, z.shape[0], chunk)]
    finally:
        G.train(was)
    return torch.cat(outs)


def fixed_latents(cfg: GANConfig, G: Generator, n: int, device: torch.device, salt: int = 1) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` noise vectors fixed by the seed (and labels cycling over classes), for grids and diagnostics."""
    g = torch.Generator().manual_seed(cfg.train.seed * 7 + 1000 + salt)
    z = torch.randn(n, G.z_dim, generator=g).to(device)
    y = (torch.arange(n) % G.num_classes).to(device) if G.num_classes else None
    return z, y


def write_samples(cfg: GANConfig, p: GANParts, step: int, run_dir: Path) -> Path:
    """Save the fixed-noise sample grid (or a 2-D scatter) for ``step``."""
    G = sampling_model(p)
    path = run_dir / "samples" / f"step-{step:08d}.png"
    if cfg.data.dataset in ("ring", "grid"):
        z, y = fixed_latents(cfg, G, EVAL_SAMPLES, p.device)
        pts = generate(G, z, y).cpu()
        extent = 1.5 if cfg.data.dataset == "ring" else 5.5
        save_image(scatter_image(pts, extent, reference=mixture_centers(cfg.data.dataset)), path)
    else:
        z, y = fixed_latents(cfg, G, 64, p.device)
        save_grid(G.to_unit(generate(G, z, y)).cpu(), path, nrow=8)
    return path


def diagnose(cfg: GANConfig, p: GANParts) -> dict[str, float | int | None]:
    """Mode coverage on mixtures (modes, high-quality fraction, reverse KL), else image diversity."""
    G = sampling_model(p)
    if cfg.data.dataset in ("ring", "grid"):
        z, y = fixed_latents(cfg, G, EVAL_SAMPLES, p.device, salt=2)
        s = mixture_scores(generate(G, z, y), mixture_centers(cfg.data.dataset), mixture_std(cfg.data.dataset))
        return {"modes": s.modes, "high_quality": s.high_quality, "reverse_kl": s.reverse_kl}
    z, y = fixed_latents(cfg, G, 64, p.device, salt=2)
    g = torch.Generator().manual_seed(cfg.train.seed + 3)
    real = p.data.x[torch.randperm(len(p.data), generator=g)[:64].to(p.device)]
    return {"diversity": diversity(generate(G, z, y), real)}
