"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a cubic polynomial kernel.

``k(x, y) = (x·y / d + 1)^3`` on ``d``-dimensional features. KID is the mean of
the unbiased MMD² estimate over random subsets (drawn without replacement), with
its standard deviation over subsets; unlike FID it is unbiased at any sample size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BrushworkError


@dataclass(frozen=True)
class KIDResult:
    """KID mean and standard deviation over ``subsets`` subsets of ``subset_size`` samples each."""

    kid_mean: float
    kid_std: float
    features: str
    n_a: int
    n_b: int
    subsets: int
    subset_size: int


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(x @ y.T / d + 1) ** 3`` for ``x`` ``(N, d)`` and ``y`` ``(M, d)`` -> ``(N, M)`` float64."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased estimate of MMD² between the distributions of ``x`` ``(m, d)`` and ``y`` ``(n, d)``.

    Within-set kernel sums leave out the diagonal (``i == j``); ``m, n >= 2``.
    """
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise BrushworkError(f"KID needs at least 2 samples per set, got {m} and {n}")
    kxx = polynomial_kernel(x, x)
    kyy = polynomial_kernel(y, y)
    kxy = polynomial_kernel(x, y)
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * kxy.mean())


def kid(
    a: np.ndarray,
    b: np.ndarray,
    features: str,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> KIDResult:
    """KID between feature sets ``a`` ``(N_a, D)`` and ``b`` ``(N_b, D)``.

    Args:
        features: name of the feature space (recorded in the result).
        subsets: number of random subset pairs (default 100, as StyleGAN2-ADA and torch-fidelity).
        subset_size: samples per subset (default 1000), lowered to ``min(N_a, N_b)`` when larger.
        seed: seeds the subset draws, so a result is reproducible.

    Raises:
        BrushworkError: fewer than 2 samples in a set, or different feature dimensions.
    """
    if a.shape[1] != b.shape[1]:
        raise BrushworkError(f"feature sets have different dimensions ({a.shape[1]} vs {b.shape[1]})")
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise BrushworkError(f"KID needs at least 2 samples per set, got {len(a)} and {len(b)}")
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
        for _ in range(subsets)
    ]
    return KIDResult(kid_mean=float(np.mean(values)), kid_std=float(np.std(values)), features=features,
                     n_a=len(a), n_b=len(b), subsets=subsets, subset_size=size)
