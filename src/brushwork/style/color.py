"""Colour preservation (Gatys et al., 2017, "Controlling perceptual factors").

* :func:`transfer_luminance`: keep the content's colours, take only the
  stylised luminance (YIQ space), applied to the output.
* :func:`match_color`: recolour the *style* image so its colour mean and
  covariance equal the content's before stylising (histogram matching by an
  affine map in RGB, symmetric matrix square roots).

Images are ``(..., 3, H, W)`` floats in ``[0, 1]``.
"""

from __future__ import annotations

import torch

_RGB_TO_YIQ = torch.tensor([
    [0.299, 0.587, 0.114],
    [0.595716, -0.274453, -0.321263],
    [0.211456, -0.522591, 0.311135],
])


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """RGB -> YIQ, channel dimension at -3."""
    return torch.einsum("ij,...jhw->...ihw", _RGB_TO_YIQ.to(image), image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """YIQ -> RGB, channel dimension at -3."""
    return torch.einsum("ij,...jhw->...ihw", torch.linalg.inv(_RGB_TO_YIQ).to(image), image)


def transfer_luminance(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance of ``stylized`` with the chrominance (I, Q) of ``content`` (same size)."""
    y = rgb_to_yiq(stylized)[..., :1, :, :]
    iq = rgb_to_yiq(content)[..., 1:, :, :]
    return yiq_to_rgb(torch.cat([y, iq], dim=-3)).clamp(0, 1)


def _mean_cov(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = image.reshape(3, -1).double()
    mu = x.mean(dim=1, keepdim=True)
    xc = x - mu
    return mu, xc @ xc.T / x.shape[1] + 1e-5 * torch.eye(3, dtype=x.dtype)


def _sqrtm(mat: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(mat)
    vals = vals.clamp_min(1e-10).sqrt()
    if inverse:
        vals = 1 / vals
    return vecs @ torch.diag(vals) @ vecs.T


def match_color(source: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Affine-recolour ``source`` ``(3, H, W)`` so its colour mean and covariance equal ``reference``'s."""
    mu_s, cov_s = _mean_cov(source)
    mu_r, cov_r = _mean_cov(reference)
    transform = _sqrtm(cov_r) @ _sqrtm(cov_s, inverse=True)
    x = source.reshape(3, -1).double()
    y = transform @ (x - mu_s) + mu_r
    return y.reshape(source.shape).to(source.dtype).clamp(0, 1)
