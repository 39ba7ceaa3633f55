"""Load a trained run's generator and sample from it: the API behind ``brushwork gan sample``.

::

    from brushwork.gan.sample import load_generator, sample, interpolate
    gen = load_generator("runs/00003-dcgan-digits")      # EMA weights when the run has them
    images = sample(gen, 16, seed=1, truncation=1.5)      # (16, C, H, W) in [0, 1]
    frames = interpolate(gen, 8, seed=2)                  # (8, C, H, W), spherical path
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import BrushworkError
from ..training import checkpoint as ckpt
from ..training.runs import read_run
from .config import GANConfig, config_from_dict
from .models import Generator, build_generator


@dataclass
class LoadedGenerator:
    """A generator in eval mode with what is needed to use it.

    ``G``: the module (``G(z, y) -> samples`` in its own range; use :func:`sample` for
    ``[0, 1]``); ``config``: the run's config; ``step``: training step of the checkpoint;
    ``ema``: whether these are the EMA weights; ``sample_shape``: e.g. ``(3, 32, 32)`` or ``(2,)``.
    """

    G: Generator
    config: GANConfig
    step: int
    ema: bool
    run_dir: Path
    sample_shape: tuple[int, ...]

    @property
    def num_classes(self) -> int:
        """0 for an unconditional generator."""
        return self.G.num_classes

    @property
    def z_dim(self) -> int:
        """Length of the noise vector."""
        return self.G.z_dim

    @property
    def is_image(self) -> bool:
        """False for 2-D point generators (mixtures)."""
        return len(self.sample_shape) == 3


def load_generator(run_dir: str | os.PathLike, *, ema: bool | None = None, device: str = "cpu") -> LoadedGenerator:
    """The generator of the newest checkpoint in ``run_dir``.

    ``ema``: ``None`` uses the EMA weights when the run kept them, ``True`` requires them,
    ``False`` takes the raw weights. Raises BrushworkError for a folder that is not a GAN
    run, a run without checkpoints, or a corrupted checkpoint.
    """
    read_run(run_dir, kind="gan")
    tensors, state = ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir))
    try:
        cfg = config_from_dict(state["config"])
        shape = tuple(int(s) for s in state["sample_shape"])
        num_classes = int(state["num_classes"])
        has_ema = bool(state.get("has_ema"))
    except (KeyError, TypeError, ValueError) as exc:
        raise BrushworkError(f"{run_dir}: checkpoint state is missing {exc}") from None
    if ema and not has_ema:
        raise BrushworkError(f"{run_dir}: this run kept no EMA weights (train.ema_decay was 0)")
    use_ema = has_ema if ema is None else ema
    G = build_generator(cfg.model, shape, num_classes)
    try:
        G.load_state_dict(ckpt.unprefixed("G_ema" if use_ema else "G", tensors))
    except RuntimeError as exc:
        raise BrushworkError(f"{run_dir}: checkpoint does not fit its config ({str(exc).splitlines()[0]})") from None
    G.to(device).eval().requires_grad_(False)
    return LoadedGenerator(G, cfg, int(state["step"]), use_ema, Path(run_dir), shape)


def truncated_normal(n: int, dim: int, truncation: float | None, generator: torch.Generator) -> torch.Tensor:
    """``(n, dim)`` standard normal noise; with ``truncation`` T, values with ``|z| > T`` are redrawn."""
    z = torch.randn(n, dim, generator=generator)
    if truncation is None:
        return z
    if truncation <= 0:
        raise BrushworkError(f"--truncation must be positive, not {truncation}")
    for _ in range(1000):
        bad = z.abs() > truncation
        if not bad.any():
            break
        z[bad] = torch.randn(int(bad.sum()), generator=generator)
    return z.clamp(-truncation, truncation)


def _labels(gen: LoadedGenerator, n: int, class_id: int | None) -> torch.Tensor | None:
    if class_id is not None and not gen.num_classes:
        raise BrushworkError("--class needs a class-conditional generator (model.conditional = true)")
    if not gen.num_classes:
        return None
    if class_id is None:
        return torch.arange(n) % gen.num_classes
    if not 0 <= class_id < gen.num_classes:
        raise BrushworkError(f"--class must be between 0 and {gen.num_classes - 1}, not {class_id}")
    return torch.full((n,), class_id, dtype=torch.long)


@torch.no_grad()
def generate(gen: LoadedGenerator, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """``z`` ``(N, z_dim)`` (+ labels) -> samples in ``[0, 1]`` (images) or raw 2-D points, on the CPU."""
    dev = next(gen.G.parameters()).device
    out = gen.G(z.to(dev), None if y is None else y.to(dev))
    return gen.G.to_unit(out).clamp(0, 1).cpu() if gen.is_image else out.cpu()


def sample(gen: LoadedGenerator, n: int, *, seed: int = 0, truncation: float | None = None, class_id: int | None = None) -> torch.Tensor:
    """``n`` samples ``(n, C, H, W)`` in ``[0, 1]`` (or ``(n, 2)`` points), reproducible from ``seed``.

    ``class_id`` fixes the class of a conditional generator (default: classes cycle 0, 1, ...).
    """
    if n <= 0:
        raise BrushworkError(f"-n must be positive, not {n}")
    g = torch.Generator().manual_seed(seed)
    z = truncated_normal(n, gen.z_dim, truncation, g)
    return generate(gen, z, _labels(gen, n, class_id))


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between vectors ``a`` and ``b`` ``(D,)`` at fractions ``t`` ``(T,)`` -> ``(T, D)``."""
    an, bn = a / a.norm(), b / b.norm()
    omega = torch.arccos((an * bn).sum().clamp(-1, 1))
    t = t.view(-1, 1)
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


def interpolate(gen: LoadedGenerator, steps: int = 8, *, seed: int = 0, truncation: float | None = None, class_id: int | None = None) -> torch.Tensor:
    """``steps`` samples along the great circle between two seeded noise vectors: ``(steps, C, H, W)``."""
    if steps < 2:
        raise BrushworkError(f"--steps must be at least 2, not {steps}")
    g = torch.Generator().manual_seed(seed)
    ends = truncated_normal(2, gen.z_dim, truncation, g)
    z = slerp(ends[0], ends[1], torch.linspace(0, 1, steps))
    y = _labels(gen, steps, class_id if class_id is not None else (0 if gen.num_classes else None))
    return generate(gen, z, y)


def grid_columns(n: int) -> int:
    """Default images per row for a grid of ``n``."""
    return math.ceil(math.sqrt(n))
