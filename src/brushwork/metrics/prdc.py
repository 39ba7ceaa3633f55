"""Precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020).

All four rest on k-nearest-neighbour balls: around each sample of a set, the
closed ball whose radius is the distance to its k-th nearest other sample of the
same set. With real samples X and generated samples Y:

* precision: fraction of Y inside the union of the real balls (k = 3);
* recall: fraction of X inside the union of the generated balls (k = 3);
* density: (1 / kM) x number of (real ball, generated sample) containments (k = 5);
* coverage: fraction of real balls that contain at least one generated sample (k = 5).

Distances are Euclidean, computed in float64 in row blocks so memory stays
``O(block x N)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import BrushworkError

_BLOCK = 1024


@dataclass(frozen=True)
class PRDCResult:
    """Precision, recall, density and coverage of generated samples against real ones."""

    precision: float
    recall: float
    density: float
    coverage: float
    features: str
    n_real: int
    n_fake: int
    k: int
    k_dc: int


def _distance_blocks(a: np.ndarray, b: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(rows, D)`` with ``D[i, j] = |a[rows][i] - b[j]|`` in blocks of rows."""
    b_sq = (b * b).sum(axis=1)
    for start in range(0, len(a), _BLOCK):
        rows = slice(start, min(start + _BLOCK, len(a)))
        x = a[rows]
        sq = (x * x).sum(axis=1)[:, None] + b_sq[None, :] - 2.0 * (x @ b.T)
        yield rows, np.sqrt(np.clip(sq, 0.0, None))


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of ``x`` ``(N, D)`` to its k-th nearest *other* row -> ``(N,)``."""
    if len(x) <= k:
        raise BrushworkError(f"k-NN radii with k={k} need more than {k} samples per set, got {len(x)}")
    out = np.empty(len(x))
    for rows, d in _distance_blocks(x, x):
        # column 0 of the sorted row is the sample itself (distance 0)
        out[rows] = np.partition(d, k, axis=1)[:, k]
    return out


def _ball_counts(centres: np.ndarray, radii: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For balls (centres, radii) and points: per-point number of balls holding it, per-ball number of points."""
    per_point = np.zeros(len(points), dtype=np.int64)
    per_ball = np.zeros(len(centres), dtype=np.int64)
    for rows, d in _distance_blocks(centres, points):
        inside = d <= radii[rows, None]
        per_point += inside.sum(axis=0)
        per_ball[rows] = inside.sum(axis=1)
    return per_point, per_ball


def prdc(real: np.ndarray, fake: np.ndarray, features: str, *, k: int = 3, k_dc: int = 5) -> PRDCResult:
    """Precision/recall with ``k`` neighbours and density/coverage with ``k_dc`` neighbours.

    Args:
        real: ``(N, D)`` features of real samples.
        fake: ``(M, D)`` features of generated samples.
        features: name of the feature space (recorded in the result).
        k: neighbours for precision and recall (default 3, Kynkäänniemi et al.).
        k_dc: neighbours for density and coverage (default 5, Naeem et al.).

    Raises:
        BrushworkError: a set has no more samples than the larger k, or dimensions differ.
    """
    real = np.asarray(real, np.float64)
    fake = np.asarray(fake, np.float64)
    if real.shape[1] != fake.shape[1]:
        raise BrushworkError(f"feature sets have different dimensions ({real.shape[1]} vs {fake.shape[1]})")
    real_pr, fake_pr = knn_radii(real, k), knn_radii(fake, k)
    real_dc = real_pr if k_dc == k else knn_radii(real, k_dc)
    in_real, _ = _ball_counts(real, real_pr, fake)
    in_fake, _ = _ball_counts(fake, fake_pr, real)
    in_real_dc, per_ball = _ball_counts(real, real_dc, fake)
    return PRDCResult(
        precision=float((in_real > 0).mean()),
        recall=float((in_fake > 0).mean()),
        density=float(in_real_dc.sum() / (k_dc * len(fake))),
        coverage=float((per_ball > 0).mean()),
        features=features, n_real=len(real), n_fake=len(fake), k=k, k_dc=k_dc,
    )
