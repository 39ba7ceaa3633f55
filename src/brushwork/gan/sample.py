"""Load a trained run's generator and sample from it: the API behind ``brushwork gan sample``.

::

    from brushwork.gan.sample import load_generator, sample, interpolate
    gen = load_generator("runs/00003-dcgan-digits")      # EMA weights when the run has them
    gen = load_generator("runs/00003-dcgan-digits/model")  # or its model folder (brushwork.load)
    images = sample(gen, 16, seed=1, truncation=1.5)      # (16, C, H, W) in [0, 1]
    frames = interpolate(gen, 8, seed=2)                  # (8, C, H, W), spherical path
    trio = mix(gen, 1, 2, layer=4)                        # StyleGAN2: A, B, A's coarse + B's fine styles

``truncation`` is the truncation trick of the generator's family: noise values beyond
``+-T`` redrawn (BigGAN and the others), or ``w = w_avg + psi (w - w_avg)`` in W space
with ``psi = truncation`` (StyleGAN2; 1 = none, 0 = the average image).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from ..bounds import check_int
from ..errors import BrushworkError
from ..models.pretrained import Pretrained
from ..models.registry import CONFIG
from ..training import checkpoint as ckpt
from ..training.runs import read_run
from .bounds import build_checked_generator, check_sample_shape
from .config import GANConfig, config_from_dict
from .models import Generator, build_generator


MODEL_DIR = "model"  # a run's model folder (hub kind gan-generator), rewritten at every checkpoint


@dataclass
class LoadedGenerator(Pretrained):
    """A generator in eval mode with what is needed to use it (hub kind ``gan-generator``).

    ``G``: the module (``G(z, y) -> samples`` in its own range; use :func:`sample` for
    ``[0, 1]``); ``config``: the run's config; ``step``: training step of the checkpoint;
    ``ema``: whether these are the EMA weights; ``run_dir``: the run (or model folder) it
    came from; ``sample_shape``: e.g. ``(3, 32, 32)`` or ``(2,)``.
    """

    kind: ClassVar[str] = "gan-generator"

    G: Generator
    config: GANConfig
    step: int
    ema: bool
    run_dir: Path | None
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
    """The generator of a model folder (kind ``gan-generator``), or of the newest checkpoint in
    the run ``run_dir``.

    ``ema``: ``None`` uses the EMA weights when the run kept them, ``True`` requires them,
    ``False`` takes the raw weights (a run's checkpoint has both; a model folder holds one).
    Raises BrushworkError for a folder that is neither a model folder nor a GAN run, a run
    without checkpoints, or a corrupted checkpoint.
    """
    if (Path(run_dir) / CONFIG).is_file():
        return _from_model_folder(run_dir, ema, device)
    read_run(run_dir, kind="gan")
    tensors, state = ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir))
    try:
        cfg = config_from_dict(state["config"])
        shape = check_sample_shape(state["sample_shape"], str(run_dir))
        num_classes = check_int(state["num_classes"], f"{run_dir}: num_classes", 0, 100_000)
        has_ema = bool(state.get("has_ema"))
    except (KeyError, TypeError, ValueError) as exc:
        raise BrushworkError(f"{run_dir}: checkpoint state is missing {exc}") from None
    if ema and not has_ema:
        raise BrushworkError(f"{run_dir}: this run kept no EMA weights (train.ema_decay was 0)")
    use_ema = has_ema if ema is None else ema
    G = build_checked_generator(cfg, shape, num_classes, str(run_dir))
    try:
        G.load_state_dict(ckpt.unprefixed("G_ema" if use_ema else "G", tensors))
    except RuntimeError as exc:
        raise BrushworkError(f"{run_dir}: checkpoint does not fit its config ({str(exc).splitlines()[0]})") from None
    G.to(device).eval().requires_grad_(False)
    return LoadedGenerator(G, cfg, int(state["step"]), use_ema, Path(run_dir), shape)


def _from_model_folder(path: str | os.PathLike, ema: bool | None, device: str) -> LoadedGenerator:
    from ..models import load

    gen = load(path, kind="gan-generator", device=device)
    if ema is not None and ema != gen.ema:
        held = "EMA" if gen.ema else "raw (non-EMA)"
        raise BrushworkError(f"{path}: this model folder holds the {held} weights only; use the run folder for the others")
    return gen


def generator_provenance(gen: LoadedGenerator, run_dir: str | os.PathLike) -> dict:
    """The provenance of a run's model folder: how it was made, the run, step and EMA flag."""
    return {"how": "trained with brushwork gan train", "source": Path(run_dir).name, "step": gen.step, "ema": gen.ema}


def truncated_normal(n: int, dim: int, truncation: float | None, generator: torch.Generator) -> torch.Tensor:
    """``(n, dim)`` standard normal noise; with ``truncation`` T, values with ``|z| > T`` are redrawn."""
    z = torch.randn(n, dim, generator=generator)
    if truncation is None:
        return z
    if truncation <= 0:
        raise BrushworkError(f"truncation must be positive, not {truncation}")
    for _ in range(1000):
        bad = z.abs() > truncation
        if not bad.any():
            break
        z[bad] = torch.randn(int(bad.sum()), generator=generator)
    return z.clamp(-truncation, truncation)


def class_labels(gen: LoadedGenerator, n: int, class_id: int | None = None) -> torch.Tensor | None:
    """The classes :func:`sample` gives ``n`` samples: ``None`` for an unconditional generator,
    else ``class_id`` for all or, by default, classes cycling 0, 1, ..."""
    if class_id is not None and not gen.num_classes:
        raise BrushworkError("--class needs a class-conditional generator (model.conditional = true)")
    if not gen.num_classes:
        return None
    if class_id is None:
        return torch.arange(n) % gen.num_classes
    if not 0 <= class_id < gen.num_classes:
        raise BrushworkError(f"--class must be between 0 and {gen.num_classes - 1}, not {class_id}")
    return torch.full((n,), class_id, dtype=torch.long)


def _one_class(gen: LoadedGenerator, n: int, class_id: int | None) -> torch.Tensor | None:
    """``n`` labels of one class for a strip or a mix: ``class_id``, else class 0 when conditional."""
    return class_labels(gen, n, class_id if class_id is not None else (0 if gen.num_classes else None))


def is_style_based(gen: LoadedGenerator) -> bool:
    """Whether the generator has a mapping network and W space (StyleGAN2)."""
    return hasattr(gen.G, "mapping") and hasattr(gen.G, "synthesis")


def noise(gen: LoadedGenerator, n: int, truncation: float | None, generator: torch.Generator) -> torch.Tensor:
    """``(n, z_dim)`` noise: truncated in Z, except for style-based generators (truncated in W later)."""
    if is_style_based(gen):
        if truncation is not None and truncation < 0:
            raise BrushworkError(f"truncation (psi in W space) must be >= 0, not {truncation}")
        return torch.randn(n, gen.z_dim, generator=generator)
    return truncated_normal(n, gen.z_dim, truncation, generator)


def _styles(gen: LoadedGenerator, z: torch.Tensor, y: torch.Tensor | None, truncation: float | None) -> torch.Tensor:
    """Per-layer styles ``(N, num_ws, w_dim)`` of a style-based generator (psi-truncated in W)."""
    w = gen.G.mapping(z, y)
    return gen.G.broadcast(w if truncation is None else gen.G.truncate(w, truncation))


@torch.no_grad()
def generate(gen: LoadedGenerator, z: torch.Tensor, y: torch.Tensor | None = None, truncation: float | None = None) -> torch.Tensor:
    """``z`` ``(N, z_dim)`` (+ labels) -> samples in ``[0, 1]`` (images) or raw 2-D points, on the CPU.
    ``truncation`` is applied in W for style-based generators (others: truncate ``z`` beforehand)."""
    dev = next(gen.G.parameters()).device
    z, y = z.to(dev), None if y is None else y.to(dev)
    if is_style_based(gen):
        out = gen.G.synthesis(_styles(gen, z, y, truncation))
    else:
        out = gen.G(z, y)
    return gen.G.to_unit(out).clamp(0, 1).cpu() if gen.is_image else out.cpu()


def sample(gen: LoadedGenerator, n: int, *, seed: int = 0, truncation: float | None = None, class_id: int | None = None) -> torch.Tensor:
    """``n`` samples ``(n, C, H, W)`` in ``[0, 1]`` (or ``(n, 2)`` points), reproducible from ``seed``.

    ``class_id`` fixes the class of a conditional generator (default: classes cycle 0, 1, ...).
    """
    if n <= 0:
        raise BrushworkError(f"n must be positive, not {n}")
    g = torch.Generator().manual_seed(seed)
    z = noise(gen, n, truncation, g)
    return generate(gen, z, class_labels(gen, n, class_id), truncation)


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
        raise BrushworkError(f"steps must be at least 2, not {steps}")
    g = torch.Generator().manual_seed(seed)
    ends = noise(gen, 2, truncation, g)
    z = slerp(ends[0], ends[1], torch.linspace(0, 1, steps))
    y = _one_class(gen, steps, class_id)
    return generate(gen, z, y, truncation)


@torch.no_grad()
def mix(gen: LoadedGenerator, seed_a: int, seed_b: int, *, layer: int, truncation: float | None = None, class_id: int | None = None) -> torch.Tensor:
    """Style mixing of a StyleGAN2 generator: ``(3, C, H, W)`` = image of ``seed_a``, image of
    ``seed_b``, and the image with ``seed_a``'s styles for layers ``< layer`` (coarse: pose,
    layout) and ``seed_b``'s from ``layer`` on (fine: texture, colour). ``layer`` is in
    ``[0, num_ws]``; each seed's noise is the first row :func:`sample` would draw for it."""
    if not is_style_based(gen):
        raise BrushworkError(f"--mix needs a style-based generator (model.arch stylegan2), not {gen.config.model.arch}")
    num_ws = gen.G.num_ws
    if not 0 <= layer <= num_ws:
        raise BrushworkError(f"mix_layer must be between 0 and {num_ws} for this generator, not {layer}")
    z = torch.cat([noise(gen, 1, truncation, torch.Generator().manual_seed(s)) for s in (seed_a, seed_b)])
    dev = next(gen.G.parameters()).device
    y = _one_class(gen, 2, class_id)
    ws = _styles(gen, z.to(dev), None if y is None else y.to(dev), truncation)
    mixed = torch.cat([ws[:1, :layer], ws[1:, layer:]], dim=1)
    out = gen.G.synthesis(torch.cat([ws, mixed]))
    return gen.G.to_unit(out).clamp(0, 1).cpu()


def grid_columns(n: int) -> int:
    """Default images per row for a grid of ``n``."""
    return math.ceil(math.sqrt(n))
