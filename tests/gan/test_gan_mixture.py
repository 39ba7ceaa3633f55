"""Mixture metrics on hand-built sample sets with known answers; the image diversity score."""

import math

import pytest
import torch

from brushwork.data.datasets import mixture_centers, mixture_std, sample_mixture
from brushwork.gan.diagnostics import diversity, mean_pairwise_distance
from brushwork.gan.mixture import mixture_scores, summarize

RING = mixture_centers("ring")


def test_perfect_samples():
    x = RING.repeat(10, 1)  # 80 samples, exactly on the 8 centres, 10 each
    s = mixture_scores(x, RING, 0.01)
    assert (s.modes, s.high_quality, s.reverse_kl, s.counts) == (8, 1.0, 0.0, [10] * 8)


def test_collapse_onto_one_mode():
    s = mixture_scores(RING[:1].repeat(50, 1), RING, 0.01)
    assert s.modes == 1 and s.high_quality == 1.0
    assert s.reverse_kl == pytest.approx(math.log(8))


def test_known_histogram_and_quality_threshold():
    std = 0.05
    pts = [RING[0]] * 3 + [RING[1]] * 1  # high quality: p = (3/4, 1/4) on two modes
    pts += [RING[2] + torch.tensor([3.01 * std, 0.0])]  # just beyond 3 std: low quality
    pts += [RING[3] + torch.tensor([2.99 * std, 0.0])]  # just inside: high quality
    s = mixture_scores(torch.stack(pts), RING, std)
    p = torch.tensor([3 / 5, 1 / 5, 1 / 5])
    assert s.modes == 3
    assert s.high_quality == pytest.approx(5 / 6)
    assert s.reverse_kl == pytest.approx(float((p * torch.log(p * 8)).sum()))
    assert s.counts == [3, 1, 0, 1, 0, 0, 0, 0]


def test_nothing_high_quality():
    s = mixture_scores(torch.zeros(10, 2), RING, 0.01)  # the centre is 1 away from every mode
    assert s.modes == 0 and s.high_quality == 0.0 and s.reverse_kl is None


def test_true_distribution_scores_well():
    x, _ = sample_mixture("grid", 2500, torch.Generator().manual_seed(0))
    s = mixture_scores(x, mixture_centers("grid"), mixture_std("grid"))
    assert s.modes == 25 and s.high_quality > 0.98 and s.reverse_kl < 0.02


def test_summarize():
    out = summarize([1.0, 2.0, 3.0, None])
    assert out["mean"] == 2.0 and out["n"] == 3 and out["stderr"] == pytest.approx(1 / math.sqrt(3))
    assert summarize([None])["mean"] is None


def test_diversity():
    real = torch.randn(16, 1, 4, 4)
    assert diversity(real, real) == pytest.approx(1.0)
    assert diversity(real[:1].repeat(16, 1, 1, 1), real) == 0.0
    assert mean_pairwise_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)
