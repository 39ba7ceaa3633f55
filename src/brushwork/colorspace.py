"""sRGB -> OKLab (Ottosson 2020), a perceptually uniform colour space, differentiable.

L is lightness in [0, 1]; a (green-red) and b (blue-yellow) lie roughly in [-0.4, 0.4]. Equal
distances in OKLab look about equally different, which makes it the space for comparing palettes.
Used by the colour-distribution distance (metrics) and the optimiser's colour loss.
"""

from __future__ import annotations

import torch

# linear sRGB -> LMS, and cube-rooted LMS -> OKLab (Ottosson 2020).
_M1 = ((0.4122214708, 0.5363325363, 0.0514459929),
       (0.2119034982, 0.6806995451, 0.1073969566),
       (0.0883024619, 0.2817188376, 0.6299787005))
_M2 = ((0.2104542553, 0.7936177850, -0.0040720468),
       (1.9779984951, -2.4285922050, 0.4505937099),
       (0.0259040371, 0.7827717662, -0.8086757660))


def srgb_to_oklab(rgb: torch.Tensor) -> torch.Tensor:
    """``(..., 3, H, W)`` sRGB in [0, 1] -> OKLab of the same shape and dtype.

    Differentiable everywhere: the cube root is taken of LMS values clamped to at least 1e-6
    (about 1 % of the darkest 8-bit grey), so black has a finite gradient.
    """
    c = rgb.clamp(0, 1)
    linear = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m1 = torch.tensor(_M1, dtype=rgb.dtype, device=rgb.device)
    m2 = torch.tensor(_M2, dtype=rgb.dtype, device=rgb.device)
    lms = torch.einsum("ij,...jhw->...ihw", m1, linear)
    return torch.einsum("ij,...jhw->...ihw", m2, lms.clamp_min(1e-6) ** (1 / 3))
