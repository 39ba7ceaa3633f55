"""Inception Score (Salimans et al. 2016): ``exp(E_x KL(p(y|x) || p(y)))``, mean and std over splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BrushworkError


@dataclass(frozen=True)
class ISResult:
    """Inception Score mean and standard deviation over ``splits`` equal parts of ``n`` samples."""

    is_mean: float
    is_std: float
    features: str
    n: int
    splits: int


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def inception_score(logits: np.ndarray, features: str, *, splits: int = 10) -> ISResult:
    """Inception Score of class ``logits`` ``(N, C)``.

    The samples are cut, in order, into ``splits`` parts (default 10, as the
    original code; the last parts absorb the remainder); each part gives
    ``exp(mean KL(p(y|x) || p_part(y)))`` and the result is their mean and
    (population) standard deviation. For the TF-FID Inception use its logits
    without the bias (what the original TensorFlow code reads).

    Raises:
        BrushworkError: fewer samples than splits.
    """
    logits = np.asarray(logits, np.float64)
    n = logits.shape[0]
    if n < splits or splits < 1:
        raise BrushworkError(f"Inception Score with {splits} splits needs at least {splits} samples, got {n}")
    log_p = _log_softmax(logits)
    scores = []
    for part in np.array_split(log_p, splits):
        log_marginal = np.log(np.exp(part).mean(axis=0))
        kl = (np.exp(part) * (part - log_marginal)).sum(axis=1)
        scores.append(float(np.exp(kl.mean())))
    return ISResult(is_mean=float(np.mean(scores)), is_std=float(np.std(scores)), features=features, n=n, splits=splits)
