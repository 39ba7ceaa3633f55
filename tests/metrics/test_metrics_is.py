"""Inception Score: closed-form extremes and a direct per-split reference."""

from __future__ import annotations

import numpy as np
import pytest

from brushwork.errors import BrushworkError
from brushwork.metrics.inception_score import inception_score


def test_confident_and_uniformly_spread_predictions_score_the_number_of_classes():
    c = 8
    logits = np.full((80, c), -1e4)
    logits[np.arange(80), np.arange(80) % c] = 0.0  # one-hot, every class equally often in every split
    r = inception_score(logits, "x", splits=10)
    assert r.is_mean == pytest.approx(c, rel=1e-9)
    assert r.is_std == pytest.approx(0.0, abs=1e-9)


def test_identical_predictions_score_one():
    logits = np.tile(np.random.default_rng(0).standard_normal(5), (30, 1))
    assert inception_score(logits, "x", splits=3).is_mean == pytest.approx(1.0, abs=1e-12)


def test_matches_direct_reference_per_split():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((23, 6)) * 2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores = []
    for part in np.array_split(p, 4):
        py = part.mean(axis=0)
        kl = [sum(row[j] * np.log(row[j] / py[j]) for j in range(6)) for row in part]
        scores.append(np.exp(np.mean(kl)))
    r = inception_score(logits, "inception", splits=4)
    assert r.is_mean == pytest.approx(np.mean(scores), rel=1e-10)
    assert r.is_std == pytest.approx(np.std(scores), rel=1e-8)
    assert (r.n, r.splits, r.features) == (23, 4, "inception")


def test_fewer_samples_than_splits_is_a_user_error():
    with pytest.raises(BrushworkError, match="splits"):
        inception_score(np.zeros((3, 4)), "x", splits=10)
