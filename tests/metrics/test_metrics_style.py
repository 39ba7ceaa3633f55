"""Style-transfer distances on synthetic activations: zeros where they must be, invariances, references."""

from __future__ import annotations

import pytest
import torch

from brushwork.metrics.style import content_distance, gram_distance, sliced_wasserstein


def _acts(seed: int, sizes=((8, 12, 12), (16, 6, 6))) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {f"l{i}": torch.rand((1, *s), generator=gen) for i, s in enumerate(sizes)}


def test_distances_of_identical_activations_are_zero():
    a = _acts(0)
    assert content_distance(a, a) == pytest.approx(0.0, abs=1e-12)
    assert gram_distance(a, a) == pytest.approx(0.0, abs=1e-12)
    assert sliced_wasserstein(a, a) == pytest.approx(0.0, abs=1e-12)


def test_distances_of_different_activations_are_positive():
    a, b = _acts(0), _acts(1)
    assert content_distance(a, b) > 0.01
    assert gram_distance(a, b) > 0.01
    assert sliced_wasserstein(a, b) > 0.01


def test_content_distance_matches_direct_formula_and_ignores_per_position_scale():
    a, b = _acts(2), _acts(3)
    expected = 0.0
    for k in a:
        na = a[k] / a[k].norm(dim=1, keepdim=True)
        nb = b[k] / b[k].norm(dim=1, keepdim=True)
        expected += float(((na - nb) ** 2).sum(dim=1).mean())
    assert content_distance(a, b) == pytest.approx(expected / len(a), rel=1e-6)
    scaled = {k: v * 7.0 for k, v in a.items()}
    assert content_distance(scaled, b) == pytest.approx(content_distance(a, b), rel=1e-5)


def test_style_distances_ignore_where_features_are():
    """Gram and sliced Wasserstein compare feature statistics, not layouts: a spatial shuffle is free."""
    a = _acts(4)
    gen = torch.Generator().manual_seed(0)
    shuffled = {}
    for k, v in a.items():
        flat = v.flatten(2)
        perm = torch.randperm(flat.shape[2], generator=gen)
        shuffled[k] = flat[:, :, perm].reshape(v.shape)
    assert gram_distance(shuffled, a) == pytest.approx(0.0, abs=1e-9)
    assert sliced_wasserstein(shuffled, a) == pytest.approx(0.0, abs=1e-9)
    assert content_distance(shuffled, a) > 0.01


def test_gram_distance_is_relative_frobenius_error():
    a = {"l": torch.rand(1, 4, 5, 5)}
    b = {"l": 2 * a["l"]}  # Gram scales by 4: |4G - G| / |G| = 3 from b's side
    assert gram_distance(b, a) == pytest.approx(3.0, rel=1e-9)


def test_sliced_wasserstein_handles_different_sizes_and_is_seeded():
    a = _acts(5, sizes=((8, 10, 10),))
    b = _acts(6, sizes=((8, 7, 9),))
    assert sliced_wasserstein(a, b, seed=1) == sliced_wasserstein(a, b, seed=1)
    # a constant shift of every feature by c moves every 1-D projection by c * (direction . 1)
    shifted = {"l0": a["l0"] + 1.0}
    assert sliced_wasserstein(shifted, a, projections=256) > 0.5
