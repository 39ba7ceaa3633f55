"""Style-transfer losses and colour transforms against independent numpy computations."""

from __future__ import annotations

import numpy as np
import torch

from brushwork.style.color import match_color, rgb_to_yiq, transfer_luminance, yiq_to_rgb
from brushwork.style.losses import ContentLoss, GramStyleLoss, SlicedWassersteinStyleLoss, gram_matrix, tv_loss


def _feat(c=4, h=5, w=6, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(1, c, h, w)).astype(np.float32))


def test_gram_matches_numpy():
    f = _feat()
    a = f[0].numpy().reshape(4, -1)
    assert np.allclose(gram_matrix(f).numpy(), a @ a.T / a.shape[1], atol=1e-5)


def test_masked_gram_uses_only_masked_positions():
    f = _feat(h=4, w=4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    a = f[0, :, :2, :].numpy().reshape(4, -1)
    assert np.allclose(gram_matrix(f, mask).numpy(), a @ a.T / a.shape[1], atol=1e-5)


def test_content_loss_is_relative_mse():
    target, x = _feat(seed=1), _feat(seed=2)
    t, y = target.numpy(), x.numpy()
    expected = ((y - t) ** 2).mean() / (t ** 2).mean()
    assert np.isclose(float(ContentLoss(target)(x)), expected, rtol=1e-5)
    assert float(ContentLoss(target)(target)) == 0


def test_gram_style_loss_blends_targets():
    s1, s2, x = _feat(seed=3), _feat(seed=4), _feat(seed=5)
    g = lambda t: (lambda a: a @ a.T / a.shape[1])(t[0].numpy().reshape(4, -1))  # noqa: E731
    target = 0.25 * g(s1) + 0.75 * g(s2)
    expected = ((g(x) - target) ** 2).mean() / (target ** 2).mean()
    assert np.isclose(float(GramStyleLoss([s1, s2], [0.25, 0.75])(x)), expected, rtol=1e-4)


def test_sliced_wasserstein_matches_numpy_and_vanishes_on_permutations():
    style = _feat(c=3, h=4, w=4, seed=6)
    loss = SlicedWassersteinStyleLoss([style], [1.0], seed=0)
    # a spatial permutation has the same feature distribution: zero distance
    perm = style.flatten(2)[..., torch.randperm(16)].reshape(1, 3, 4, 4)
    assert float(loss(perm)) < 1e-10
    x = _feat(c=3, h=4, w=4, seed=7)
    d = loss.directions.numpy()
    samples = loss.samples.numpy()
    proj_x = np.sort(d.T @ x[0].numpy().reshape(3, -1), axis=1)
    proj_s = np.sort(d.T @ samples, axis=1)
    expected = ((proj_x - proj_s) ** 2).mean() / (samples ** 2).mean()
    assert np.isclose(float(loss(x)), expected, rtol=1e-4)


def test_sliced_wasserstein_of_a_shift_is_its_projected_length():
    style = _feat(c=8, h=8, w=8, seed=8)
    loss = SlicedWassersteinStyleLoss([style], [1.0], n_projections=4096, seed=1)
    shift = torch.zeros(1, 8, 1, 1)
    shift[0, 0] = 0.5
    # E[(theta . s)^2] over unit directions in 8-D = |s|^2 / 8
    expected = 0.25 / 8 / loss.scale
    assert np.isclose(float(loss(style + shift)), expected, rtol=0.1)


def test_tv_loss_matches_numpy():
    img = _feat(c=3, seed=9)
    a = img.numpy()
    expected = (np.diff(a, axis=3) ** 2).mean() + (np.diff(a, axis=2) ** 2).mean()
    assert np.isclose(float(tv_loss(img)), expected, rtol=1e-5)
    assert float(tv_loss(torch.ones(1, 3, 4, 4))) == 0


def test_yiq_round_trip_and_luminance_transfer():
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.random((3, 6, 6), dtype=np.float32))
    b = torch.from_numpy(rng.random((3, 6, 6), dtype=np.float32))
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(a)), a, atol=1e-5)
    a, b = a * 0.2 + 0.4, b * 0.2 + 0.4  # mid-range so nothing clips
    out = transfer_luminance(a, b)
    assert torch.allclose(rgb_to_yiq(out)[0], rgb_to_yiq(a)[0], atol=1e-4)
    assert torch.allclose(rgb_to_yiq(out)[1:], rgb_to_yiq(b)[1:], atol=1e-4)


def test_match_color_gives_reference_mean_and_covariance():
    rng = np.random.default_rng(1)
    src = torch.from_numpy((rng.random((3, 16, 16)) * 0.3 + 0.1).astype(np.float32))
    ref = torch.from_numpy((rng.random((3, 16, 16)) * 0.2 + np.array([0.6, 0.4, 0.3])[:, None, None]).astype(np.float32))
    out = match_color(src, ref).numpy().reshape(3, -1)
    r = ref.numpy().reshape(3, -1)
    assert np.allclose(out.mean(axis=1), r.mean(axis=1), atol=1e-4)
    assert np.allclose(np.cov(out, bias=True), np.cov(r, bias=True), atol=1e-4)
