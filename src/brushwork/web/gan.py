"""GAN runs in the data directory: list them, sample grids, interpolate between two seeds.

Runs are the folders ``<data>/runs/<name>`` holding a GAN ``run.json``, or a model folder
(hub kind ``gan-generator``, e.g. a run's ``model`` folder copied there). Clients name a
run by its folder name, which is looked up among the runs found: a client's string never
becomes a path.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import torch

from ..errors import BrushworkError
from ..gan.sample import LoadedGenerator, generate, load_generator, sample, slerp, truncated_normal
from ..imagegrid import make_grid, scatter_image
from ..imageio import to_pil
from ..models import CONFIG, WEIGHTS
from ..training.checkpoint import latest_checkpoint
from ..training.runs import read_run
from .uploads import ApiError

MAX_SAMPLES = 64
MAX_STEPS = 32


def png_bytes(image: torch.Tensor) -> bytes:
    """``(3, H, W)`` in [0, 1] -> PNG file bytes."""
    buf = io.BytesIO()
    to_pil(image).save(buf, format="PNG")
    return buf.getvalue()


class GanRuns:
    """The GAN runs under ``<data>/runs``, with loaded generators cached per checkpoint."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "runs"
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[Path, LoadedGenerator]] = {}

    def _folders(self) -> dict[str, Path]:
        if not self.root.is_dir():
            return {}
        return {p.name: p for p in sorted(self.root.iterdir()) if p.is_dir() and ((p / "run.json").is_file() or (p / CONFIG).is_file())}

    def list(self) -> list[dict[str, Any]]:
        """One summary a GAN run that has a checkpoint: name, preset, step, classes, image or points."""
        out = []
        for name, path in self._folders().items():
            try:
                record = {} if (path / CONFIG).is_file() else read_run(path, kind="gan")
                gen = self._load(path)
            except BrushworkError:
                continue
            out.append({"name": name, "created": record.get("created"), "step": gen.step, "ema": gen.ema,
                        "num_classes": gen.num_classes, "is_image": gen.is_image,
                        "sample_shape": list(gen.sample_shape), "preset": record.get("options", {}).get("preset")})
        return out

    def get(self, name: str) -> LoadedGenerator:
        """The generator of run ``name`` (newest checkpoint); ApiError 404 when there is none."""
        path = self._folders().get(name)
        if path is None:
            raise ApiError(f"no GAN run {name!r} in the data directory", 404)
        try:
            return self._load(path)
        except BrushworkError as exc:
            raise ApiError(str(exc), 404) from None

    def _load(self, path: Path) -> LoadedGenerator:
        if (path / CONFIG).is_file():  # a model folder: reloaded when its weights change
            ckpt: Any = (path / WEIGHTS).stat().st_mtime_ns if (path / WEIGHTS).is_file() else None
        else:
            ckpt = latest_checkpoint(path)
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and cached[0] == ckpt:
                return cached[1]
        gen = load_generator(path)
        with self._lock:
            self._cache[path] = (ckpt, gen)
        return gen


def _check(gen: LoadedGenerator, truncation: float | None, class_id: int | None) -> None:
    if truncation is not None and truncation <= 0:
        raise ApiError(f"truncation must be positive, not {truncation}")
    if class_id is not None and not gen.num_classes:
        raise ApiError("this run's generator is not class-conditional; leave the class out")
    if class_id is not None and not 0 <= class_id < gen.num_classes:
        raise ApiError(f"class must be between 0 and {gen.num_classes - 1}, not {class_id}")


def sample_grid(gen: LoadedGenerator, n: int, seed: int, truncation: float | None, class_id: int | None) -> bytes:
    """PNG of ``n`` samples in a square grid (a scatter plot for 2-D point generators)."""
    if not 1 <= n <= MAX_SAMPLES:
        raise ApiError(f"n must be between 1 and {MAX_SAMPLES}, not {n}")
    _check(gen, truncation, class_id)
    out = sample(gen, n, seed=seed, truncation=truncation, class_id=class_id)
    if gen.is_image:
        return png_bytes(make_grid(out))
    return png_bytes(scatter_image(out, float(out.abs().max()) * 1.1 + 1e-6))


def interpolate_seeds(gen: LoadedGenerator, seed_a: int, seed_b: int, steps: int,
                      truncation: float | None, class_id: int | None, max_steps: int = MAX_STEPS) -> bytes:
    """PNG strip of ``steps`` (2 to ``max_steps``) images along the great circle from seed
    ``seed_a``'s noise to ``seed_b``'s.

    The end frames equal ``sample(gen, 1, seed=seed_a)`` and ``sample(gen, 1, seed=seed_b)``.
    """
    if not gen.is_image:
        raise ApiError("interpolation needs an image generator")
    if not 2 <= steps <= max_steps:
        raise ApiError(f"steps must be between 2 and {max_steps}, not {steps}")
    _check(gen, truncation, class_id)
    ends = [truncated_normal(1, gen.z_dim, truncation, torch.Generator().manual_seed(s))[0] for s in (seed_a, seed_b)]
    z = slerp(ends[0], ends[1], torch.linspace(0, 1, steps))
    y = torch.full((steps,), class_id or 0, dtype=torch.long) if gen.num_classes else None
    return png_bytes(make_grid(generate(gen, z, y), nrow=steps))
