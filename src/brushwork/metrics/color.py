"""Colour-distribution distance between two images, in pixel space (no network involved).

How far an output's palette is from a painting's, in a space that no stylisation method
optimises in: each image's pixels are converted from sRGB to OKLab (Ottosson 2020, a
perceptually uniform colour space: L lightness in [0, 1], a and b roughly in [-0.4, 0.4]),
and the two 3-D colour distributions are compared with the sliced Wasserstein-2 distance:
project both sets of colours on ``projections`` fixed random unit directions, compare the
``quantiles`` evenly spaced quantiles of each projection, take the root mean square of the
differences over quantiles and directions. The result is in OKLab units (0: the same palette
in the same proportions; about 0.01 is hard to see, a photo against an unrelated painting is
typically 0.05-0.2). Images of any sizes can be compared: only the distributions matter.
"""

from __future__ import annotations

import torch

from ..colorspace import srgb_to_oklab


def _directions(projections: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    d = torch.randn(projections, 3, generator=gen, dtype=torch.float64)
    return d / d.norm(dim=1, keepdim=True)


def _quantiles(values: torch.Tensor, n: int) -> torch.Tensor:
    """``(P, N)`` values -> ``(P, n)`` quantiles at ``(i + 0.5) / n``, linearly interpolated."""
    q = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return torch.quantile(values, q, dim=1).T


def color_distance(a: torch.Tensor, b: torch.Tensor, *, projections: int = 64, quantiles: int = 256,
                   max_pixels: int = 65536, seed: int = 0) -> float:
    """Sliced Wasserstein-2 distance between the OKLab colour distributions of two images.

    Args:
        a, b: ``(3, H, W)`` sRGB images in [0, 1], any sizes.
        projections: number of random unit directions in OKLab (fixed by ``seed``).
        quantiles: quantiles compared per direction.
        max_pixels: larger images are subsampled on a regular stride to at most this many pixels.

    Returns:
        The distance in OKLab units (>= 0; 0 for identical colour distributions).
    """
    dirs = _directions(projections, seed)
    qa, qb = (_quantiles(dirs @ _pixels(x, max_pixels), quantiles) for x in (a, b))
    return float((qa - qb).pow(2).mean().sqrt())


def _pixels(rgb: torch.Tensor, max_pixels: int) -> torch.Tensor:
    """``(3, N)`` OKLab colours of ``rgb``, at most ``max_pixels`` of them (regular stride)."""
    flat = srgb_to_oklab(rgb.double()).flatten(1)
    stride = max(1, -(-flat.shape[1] // max_pixels))
    return flat[:, ::stride]
