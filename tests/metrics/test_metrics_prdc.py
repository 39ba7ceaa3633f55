"""Precision, recall, density and coverage against a direct brute-force reference of the papers' definitions."""

from __future__ import annotations

import numpy as np
import pytest

from brushwork.errors import BrushworkError
import importlib

prdc_module = importlib.import_module("brushwork.metrics.prdc")
from brushwork.metrics.prdc import knn_radii, prdc


def _reference(real, fake, k, k_dc):
    def dist(a, b):
        return float(np.sqrt(np.sum((a - b) ** 2)))

    def radius(points, i, kk):
        others = sorted(dist(points[i], points[j]) for j in range(len(points)) if j != i)
        return others[kk - 1]

    r_real = [radius(real, i, k) for i in range(len(real))]
    r_fake = [radius(fake, j, k) for j in range(len(fake))]
    r_dc = [radius(real, i, k_dc) for i in range(len(real))]
    precision = np.mean([any(dist(y, real[i]) <= r_real[i] for i in range(len(real))) for y in fake])
    recall = np.mean([any(dist(x, fake[j]) <= r_fake[j] for j in range(len(fake))) for x in real])
    density = sum(dist(y, real[i]) <= r_dc[i] for y in fake for i in range(len(real))) / (k_dc * len(fake))
    coverage = np.mean([any(dist(y, real[i]) <= r_dc[i] for y in fake) for i in range(len(real))])
    return precision, recall, density, coverage


@pytest.mark.parametrize("seed, shift", [(0, 0.0), (1, 0.7), (2, 2.0)])
def test_prdc_equals_brute_force_reference(seed, shift):
    rng = np.random.default_rng(seed)
    real = rng.standard_normal((40, 4))
    fake = rng.standard_normal((33, 4)) * 0.8 + shift
    r = prdc(real, fake, "x")
    expected = _reference(real, fake, k=3, k_dc=5)
    assert (r.precision, r.recall, r.density, r.coverage) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert (r.k, r.k_dc, r.n_real, r.n_fake, r.features) == (3, 5, 40, 33, "x")


def test_blocked_distances_give_the_same_answer(monkeypatch):
    rng = np.random.default_rng(3)
    real, fake = rng.standard_normal((50, 3)), rng.standard_normal((45, 3)) + 0.5
    whole = prdc(real, fake, "x", k=4, k_dc=4)
    monkeypatch.setattr(prdc_module, "_BLOCK", 7)
    assert prdc(real, fake, "x", k=4, k_dc=4) == whole


def test_identical_sets_have_full_precision_and_recall():
    x = np.random.default_rng(4).standard_normal((30, 5))
    r = prdc(x, x.copy(), "x")
    assert (r.precision, r.recall, r.coverage) == (1.0, 1.0, 1.0)


def test_knn_radii_excludes_the_point_itself_and_needs_enough_points():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(knn_radii(x, 1), [1, 1, 2, 4])
    np.testing.assert_allclose(knn_radii(x, 2), [3, 2, 3, 6])
    with pytest.raises(BrushworkError, match="more than 4"):
        knn_radii(x, 4)
