"""Colour-distribution distance: against a direct numpy computation, and its invariances."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brushwork.colorspace import srgb_to_oklab
from brushwork.metrics.color import color_distance


def _oklab_numpy(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) sRGB in [0, 1] -> (N, 3) OKLab, written out from Ottosson's published formulas."""
    c = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    r, g, b = c[:, 0], c[:, 1], c[:, 2]
    l = np.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b)
    m = np.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b)
    s = np.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b)
    return np.stack([0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s,
                     1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s,
                     0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s], axis=1)


def _sliced_w2_numpy(a: np.ndarray, b: np.ndarray, dirs: np.ndarray, n: int) -> float:
    q = (np.arange(n) + 0.5) / n
    diffs = [np.quantile(a @ d, q) - np.quantile(b @ d, q) for d in dirs]
    return float(np.sqrt(np.mean(np.square(diffs))))


def test_oklab_matches_reference_values():
    # Ottosson's table: white -> (1, 0, 0); the sRGB primaries.
    rgb = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]]).view(3, 1, 4)
    lab = srgb_to_oklab(rgb.double())[:, 0].T.numpy()
    expected = [[1.0, 0.0, 0.0], [0.62796, 0.22486, 0.12585], [0.86644, -0.23389, 0.17950], [0.45201, -0.03246, -0.31153]]
    assert np.allclose(lab, expected, atol=2e-4)


def test_distance_matches_numpy():
    gen = torch.Generator().manual_seed(1)
    a = torch.rand(3, 20, 30, generator=gen)
    b = torch.rand(3, 17, 11, generator=gen) ** 2
    got = color_distance(a, b, projections=16, quantiles=50, seed=5)
    dirs = torch.randn(16, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    dirs = (dirs / dirs.norm(dim=1, keepdim=True)).numpy()
    pa = _oklab_numpy(a.double().flatten(1).T.numpy())
    pb = _oklab_numpy(b.double().flatten(1).T.numpy())
    assert got == pytest.approx(_sliced_w2_numpy(pa, pb, dirs, 50), rel=1e-9)


def test_distance_sees_only_the_distribution():
    gen = torch.Generator().manual_seed(2)
    a = torch.rand(3, 16, 16, generator=gen)
    shuffled = a.flatten(1)[:, torch.randperm(256, generator=gen)].view(3, 16, 16)
    assert color_distance(a, a) == 0.0
    assert color_distance(a, shuffled) == pytest.approx(0.0, abs=1e-12)
    darker = color_distance(a, a * 0.5)
    assert darker > 0.1 and color_distance(a, a * 0.9) < darker
