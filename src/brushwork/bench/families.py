"""`brushwork bench families`: every GAN family for the same step budget on natural crops.

Protocol: build (once, cached) ``--crops`` random ``--size`` px crops of real photos
(:mod:`brushwork.bench.natural_crops`). Train each family's preset on them for ``--steps``
generator steps at batch ``--batch-size`` with the same seed, widths scaled down for a
CPU. Then draw ``--samples`` images from each final generator (its raw weights: at budgets
this short an EMA lags far behind) and compare them with ``--samples`` real crops in the ``vgg16-hed``
feature space: Frechet distance (FD), KID, precision / recall (k = 3). The FD of two
disjoint real halves is printed as the floor. Inception FID too where its weights are
cached. Each family's sample grid is saved for looking at.
"""

from __future__ import annotations

import tempfile
import warnings
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..errors import BrushworkError

PROTOCOL = __doc__.split("\n\n", 1)[1]

FAMILIES: dict[str, tuple[str, dict[str, Any]]] = {
    # label: (preset, overrides); the DCGAN row is the baseline every family is compared with.
    "dcgan": ("dcgan-digits", {"model": {"z_dim": 64, "g_width": 32, "d_width": 32}}),
    "sagan": ("sagan-folder", {"model": {"g_width": 32, "d_width": 32}}),
    "biggan": ("biggan-folder", {"model": {"g_width": 32, "d_width": 32}}),
    "stylegan2": ("stylegan2-folder", {"model": {"g_width": 16, "d_width": 32}}),
    "progressive-dcgan": ("progressive-dcgan-folder", {"model": {"z_dim": 64, "g_width": 32, "d_width": 32}}),
    "dcgan-ada": ("dcgan-digits", {"model": {"z_dim": 64, "g_width": 32, "d_width": 32}, "train": {"ada_target": 0.6}}),
}


def family_config(label: str, data: Path, size: int, steps: int, batch_size: int, seed: int):
    """The resolved config of family ``label`` for this benchmark."""
    from ..gan.config import resolve_config

    preset, extra = FAMILIES[label]
    train = {"steps": steps, "batch_size": batch_size, "seed": seed, "ckpt_every": steps, "sample_every": steps, "diag_every": steps, "log_every": max(1, steps // 20)}
    if FAMILIES[label][0].startswith("progressive"):
        train.update(grow_every=max(1, steps // 3), fade_steps=max(0, steps // 6))
    over = [extra, {"data": {"dataset": "folder", "path": str(data), "img_size": size, "channels": 3}, "train": train}]
    return resolve_config(preset=preset, overrides=over)


def _features(images: torch.Tensor, extractor) -> np.ndarray:
    from ..metrics.extract import extract_batches

    return extract_batches(images.split(32), extractor).features


def real_features(data: Path, n: int, extractor, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features of two disjoint random sets of ``n`` real crops (reference and real-vs-real floor),
    cached beside the crops."""
    from ..data.datasets import load_image_folder
    from ..fsutil import atomic_path

    cache = data.parent / f"{data.name}.features-{extractor.name}-{n}-{seed}.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as f:
            return f["a"], f["b"]
    x = load_image_folder(data, _size(data), 3).x
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    a, b = _features(x[order[:n]], extractor), _features(x[order[n : 2 * n]], extractor)
    with atomic_path(cache) as tmp, open(tmp, "wb") as f:
        np.savez(f, a=a, b=b)
    return a, b


def _size(data: Path) -> int:
    from PIL import Image

    with Image.open(next(iter(sorted(data.glob("*.png"))))) as im:
        return im.size[0]


def scores(real: np.ndarray, fake: np.ndarray, name: str) -> dict[str, float]:
    """FD, KID and precision / recall of ``fake`` against ``real`` features."""
    from ..metrics.fid import fid_from_features
    from ..metrics.kid import kid
    from ..metrics.prdc import prdc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer samples than dimensions: FD is exact for the fitted Gaussians, noted in the output
        fd = fid_from_features(real, fake, name)
    k = kid(real, fake, name, subsets=50, subset_size=min(len(real), len(fake), 500))
    pr = prdc(real, fake, name)
    return {"fd": fd.fid, "fd_singular": fd.singular, "kid": k.kid_mean, "kid_std": k.kid_std, "precision": pr.precision, "recall": pr.recall, "density": pr.density, "coverage": pr.coverage}


def run_family(label: str, data: Path, size: int, steps: int, batch_size: int, seed: int, samples: int, out: Path, extractors: dict, real: dict) -> dict[str, Any]:
    """Train one family, sample, score; returns its row."""
    from ..gan.sample import load_generator, sample
    from ..gan.train import train
    from ..imagegrid import save_grid
    from ..training.runs import create_run

    cfg = family_config(label, data, size, steps, batch_size, seed)
    run = create_run(out, name=f"families-{label}-{size}px-seed{seed}", tag=label, kind="gan", options={"config": cfg.to_dict()})
    t0 = time.perf_counter()
    result = train(cfg, run, callback=lambda e, d: None)
    train_s = time.perf_counter() - t0
    gen = load_generator(run, ema=False)
    images = sample(gen, samples, seed=10_000 + seed)
    grid = out / f"grid-{label}-{size}px.png"
    save_grid(images[:64], grid, nrow=8)
    row: dict[str, Any] = {"family": label, "preset": FAMILIES[label][0], "arch": cfg.model.arch, "steps": steps, "steps_per_second": result.steps_per_second, "train_seconds": train_s, "ema": gen.ema, "grid": str(grid), "run": str(run)}
    for name, ex in extractors.items():
        s = scores(real[name], _features(images, ex), name)
        row.update(s if name == "vgg16-hed" else {f"{name}_fd": s["fd"]})
    if "ada_p" in result.metrics:
        row["ada_p"] = result.metrics["ada_p"]
    return row


def run_families(families: list[str] | None = None, size: int = 32, steps: int = 600, batch_size: int = 32, crops: int = 2000,
                 samples: int = 256, seed: int = 0, shared: str | None = None, out: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The whole benchmark (see the module docstring) over ``families`` (default: all), run folders
    and grids in ``out`` (default: a temporary folder); ``progress(message)`` reports each stage."""
    if out is None:
        with tempfile.TemporaryDirectory() as tmp:
            return run_families(families, size, steps, batch_size, crops, samples, seed, shared, Path(tmp), progress)
    out.mkdir(parents=True, exist_ok=True)
    families = list(families or FAMILIES)
    progress = progress or (lambda message: None)
    from ..metrics.features import load_features
    from .natural_crops import natural_crops

    data = natural_crops(size, crops, seed=seed, shared=shared)
    extractors = {"vgg16-hed": load_features("vgg16-hed")}
    try:
        extractors["inception"] = load_features("inception")
    except BrushworkError:  # weights not cached: no FID in Inception space
        pass
    progress(f"real features of {2 * samples} crops from {data}")
    real, floor = {}, {}
    for name, ex in extractors.items():
        real[name], other = real_features(data, samples, ex, seed)
        floor[name] = scores(real[name], other, name)
    rows = []
    for label in families:
        progress(f"training {label} for {steps} steps")
        rows.append(run_family(label, data, size, steps, batch_size, seed, samples, out, extractors, real))
        r = rows[-1]
        progress(f"{label}: FD {r['fd']:.3f}, KID {r['kid']:.4f}, precision {r['precision']:.2f}, recall {r['recall']:.2f}, {r['steps_per_second']:.2f} steps/s")
    base = next((r for r in rows if r["family"] == "dcgan"), None)
    for r in rows:
        r["fd_vs_dcgan"] = r["fd"] / base["fd"] if base else None
    return {"data": str(data), "crops": crops, "size": size, "steps": steps, "batch_size": batch_size, "samples": samples, "seed": seed, "features": list(extractors), "real_vs_real": floor["vgg16-hed"], "families": rows}
