"""`brushwork bench digits`: train a GAN on scikit-learn's digits and judge it with a classifier."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BrushworkError

PROTOCOL = """Protocol: train the preset (default cdcgan-digits, 16 px) for --steps generator steps on
all 1,797 digits. The judge sees every image the same way: at the training resolution
(real digits as the trainer resized them, generated samples as they come), area-downsampled
to 8x8, so the real training images themselves score like the held-out half. Split those
real digits in two stratified halves A and B (fixed seed); train a small MLP classifier
(64 ReLU units) on A. Draw as many generated samples as B holds and classify them:
classes covered = classes holding
at least 5% of the samples, class-histogram KL to uniform, confident fraction = share
classified with probability above 0.9, and the Frechet distance between generated and B
in the classifier's hidden features, next to the real-vs-real distance between A and B.
For reference, the held-out real digits B are themselves 90.9% confidently classified. A
class-conditional generator draws its classes in turn (0, 1, ..., 9, 0, ...), so its class
histogram is uniform by construction; for it the bench adds class agreement, the share of
samples the judge puts in the class they were drawn for."""


def to_judge(images01) -> np.ndarray:
    """Images ``(N, 1, H, W)`` in [0, 1] -> the judge's inputs ``(N, 64)``: area-downsampled to 8x8."""
    import torch.nn.functional as F

    return F.adaptive_avg_pool2d(images01.float(), 8).reshape(len(images01), 64).numpy()


def fit_judge(seed: int = 0, size: int = 8):
    """``(classifier, A, B, accuracy on B)``: an MLP on half the real digits as a generator trained
    at ``size`` px sees them (resized like the training set, then :func:`to_judge`)."""
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    from ..data.datasets import load_digits

    d = load_digits(size)
    x = to_judge(d.x)
    xa, xb, ya, yb = train_test_split(x, d.y.numpy(), test_size=0.5, stratify=d.y.numpy(), random_state=seed)
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=800, random_state=seed).fit(xa, ya)
    return clf, xa, xb, float(clf.score(xb, yb))


def features(clf, x: np.ndarray) -> np.ndarray:
    """The classifier's hidden ReLU activations ``(N, 64)``."""
    return np.maximum(0, x @ clf.coefs_[0] + clf.intercepts_[0])


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to feature sets ``a`` and ``b`` ``(N, D)`` (real part of sqrtm)."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        eps = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def judge(samples01, clf, xa: np.ndarray, xb: np.ndarray, labels=None) -> dict[str, Any]:
    """Scores for generated images ``(N, 1, H, W)`` in [0, 1] (see the protocol). ``labels``
    (``(N,)``, a class-conditional generator's classes) adds ``class_agreement``: the share
    of samples the judge assigns to the class they were generated for."""
    x8 = to_judge(samples01)
    proba = clf.predict_proba(x8)
    pred = proba.argmax(1)
    hist = np.bincount(pred, minlength=10) / len(pred)
    nz = hist > 0
    extra = {} if labels is None else {"class_agreement": float((pred == np.asarray(labels)).mean())}
    return {
        **extra,
        "classes_covered": int((hist >= 0.05).sum()),
        "class_histogram": [round(float(h), 4) for h in hist],
        "kl_to_uniform": float((hist[nz] * np.log(hist[nz] * 10)).sum()),
        "confident_fraction": float((proba.max(1) > 0.9).mean()),
        "fd": frechet_distance(features(clf, x8), features(clf, xb)),
        "fd_real_vs_real": frechet_distance(features(clf, xa), features(clf, xb)),
        "real_confident_fraction": float((clf.predict_proba(xb).max(1) > 0.9).mean()),
    }


def run_digits(preset: str = "cdcgan-digits", steps: int | None = None, seed: int = 0, ref_steps: int = 100,
               out: Path | None = None, grid: str | None = None, device: str = "cpu") -> dict[str, Any]:
    """Train ``preset`` for ``steps`` (default: its own) in ``out`` (default: a temporary folder),
    sample, judge (see :data:`PROTOCOL`); time the plain reference loop on the same model.
    ``grid``: also save 64 samples as an image grid there."""
    if out is None:
        with tempfile.TemporaryDirectory() as tmp:
            return run_digits(preset, steps, seed, ref_steps, Path(tmp), grid, device)
    from ..gan.config import resolve_config
    from ..gan.sample import class_labels, load_generator, sample
    from ..gan.train import train
    from ..imagegrid import save_grid
    from ..training.runs import create_run
    from .reference import compare_throughput

    steps = steps or resolve_config(preset=preset).train.steps
    cfg = resolve_config(preset=preset, overrides=[{"train": {"steps": steps, "seed": seed, "ckpt_every": steps, "sample_every": max(1, steps // 4), "diag_every": max(1, steps // 4)}}])
    if cfg.data.dataset != "digits":
        raise BrushworkError(f"preset {preset} does not train on digits (its data.dataset is {cfg.data.dataset!r})")
    run = create_run(out, name=f"digits-{preset}-seed{seed}", tag=preset, kind="gan", options={"config": cfg.to_dict()})
    result = train(cfg, run, device=device)
    clf, xa, xb, acc = fit_judge(seed, cfg.data.img_size)
    gen = load_generator(run, device=device)
    samples = sample(gen, len(xb), seed=10_000 + seed)
    if grid:
        save_grid(samples[:64], grid, nrow=8)
    labels = class_labels(gen, len(xb))
    scores = judge(samples, clf, xa, xb, None if labels is None else labels.numpy())
    step_sps, ref = compare_throughput(cfg, ref_steps, device)
    return {
        "preset": preset,
        "steps": steps,
        **scores,
        "judge_accuracy": acc,
        "steps_per_second": step_sps,
        "reference_steps_per_second": ref,
        "speedup": step_sps / ref,
        "training_run_steps_per_second": result.steps_per_second,
        "ema": gen.ema,
        "targets": {"classes_covered": 10, "confident_fraction": 0.9, "fd_max": 3 * scores["fd_real_vs_real"]},
    }
