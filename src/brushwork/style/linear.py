"""Arbitrary style transfer with a learned linear transform (Li et al., 2019, "Learning Linear
Transformations for Fast Image and Video Style Transfer").

The frozen VGG encoder gives content features ``fc`` and style features ``fs`` at one level
(``relu4_1`` or ``relu3_1``). Both are centred; a small CNN compresses each to ``m = 32``
channels, their ``m x m`` covariance (the Gram matrix of the centred features) goes through a
fully connected layer, giving a content matrix ``C`` and a style matrix ``S``. The content
features, compressed to ``m`` channels by a 1x1 convolution, are multiplied by the transform
``T = S @ C``, expanded back by another 1x1 convolution and take the style's mean; a
reconstruction decoder turns them into the image. Only the transform learns; it is a linear
map of the features, so it runs in a few milliseconds at any size and has no flicker of its own.

Variety (``variety`` v in [0, 1], ``seed``): as Wang et al. (2020, "Diversified Arbitrary Style
Transfer via Deep Feature Perturbation") rotate whitened features by a random orthogonal
matrix ``Q``, the transform becomes ``S @ ((1 - v) I + v Q) @ C``; v = 0 is the deterministic
output, ``seed`` picks ``Q``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..backbones.vgg import VGGFeatures
from ..errors import BrushworkError
from . import adain as A

LAYER_CHANNELS = {"relu3_1": 256, "relu4_1": 512}
MIN_STYLE_PX = 32
"""Shortest style image side the network takes (its features need a few positions at ``relu4_1``)."""
StyleCode = tuple[torch.Tensor, torch.Tensor]
"""``(S, mean)``: the style matrix ``(1, m, m)`` and the style's feature mean ``(1, C, 1, 1)``."""


@dataclass(frozen=True)
class LinearConfig:
    """Shape of a linear-transform model.

    Attributes:
        layer: encoder level the transform works at (``relu4_1`` or ``relu3_1``).
        matrix_size: channels the features are compressed to (the paper's 32).
        arch: the VGG the decoder mirrors (``vgg16`` / ``vgg19``).
        decoder_width: channel multiplier of the ``relu4_1`` decoder (:class:`~.adain.Decoder`).
    """

    layer: str = "relu4_1"
    matrix_size: int = 32
    arch: str = "vgg16"
    decoder_width: float = 0.5

    def validate(self) -> "LinearConfig":
        if self.layer not in LAYER_CHANNELS:
            raise BrushworkError(f"linear transform: layer must be one of {', '.join(LAYER_CHANNELS)}, not {self.layer!r}")
        if not 4 <= self.matrix_size <= 128:
            raise BrushworkError(f"linear transform: matrix_size must be between 4 and 128, not {self.matrix_size}")
        return self


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")


class CovarianceEncoder(nn.Module):
    """Centred features ``(N, C, H, W)`` -> an ``(N, m, m)`` matrix: three 3x3 convolutions
    (C -> C/2 -> C/4 -> m), the ``m x m`` covariance over positions, a fully connected layer.

    The covariance enters the fully connected layer divided by its mean variance times ``m``, and the result
    is multiplied by ``v ** power``, ``v`` the mean variance of the input features (0.5 for the
    style's colouring matrix, -0.5 for the content's whitening one, as in whitening and
    colouring); the layer starts as the identity (bias ``I``, small weights). Both keep a short
    training run stable: the paper feeds raw covariances, whose size (VGG features of hundreds)
    makes the first steps of Adam diverge, and starts from a transform far from any style.
    """

    def __init__(self, channels: int, m: int, power: float) -> None:
        super().__init__()
        self.m, self.power = m, power
        self.convs = nn.Sequential(_conv(channels, channels // 2), nn.ReLU(), _conv(channels // 2, channels // 4), nn.ReLU(), _conv(channels // 4, m))
        self.fc = nn.Linear(m * m, m * m)
        with torch.no_grad():
            self.fc.weight.mul_(0.1)
            self.fc.bias.copy_(torch.eye(m).flatten())

    def forward(self, centred: torch.Tensor) -> torch.Tensor:
        f = self.convs(centred).float().flatten(2)  # (N, m, HW)
        cov = f @ f.transpose(1, 2) / f.shape[-1]
        d = (f.pow(2).sum(1).mean(-1) / self.m).clamp_min(1e-5).view(-1, 1, 1)  # mean of the diagonal
        v = centred.float().pow(2).mean(dim=(1, 2, 3)).clamp_min(1e-5).view(-1, 1, 1)
        return self.fc((cov / (d * self.m)).flatten(1)).view(-1, self.m, self.m) * v.pow(self.power)


class LinearTransform(nn.Module):
    """Li et al.'s transform module at one encoder level (see the module docstring)."""

    def __init__(self, layer: str = "relu4_1", m: int = 32) -> None:
        super().__init__()
        c = LAYER_CHANNELS[layer]
        self.m = m
        self.cnet, self.snet = CovarianceEncoder(c, m, -0.5), CovarianceEncoder(c, m, 0.5)
        self.compress, self.unzip = nn.Conv2d(c, m, 1), nn.Conv2d(m, c, 1)
        with torch.no_grad():  # start as a projection on m random orthonormal directions, energy kept
            w = torch.linalg.qr(torch.randn(c, m))[0].T.contiguous()  # (m, c), orthonormal rows
            self.compress.weight.copy_(w[:, :, None, None])
            self.unzip.weight.copy_(w.T[:, :, None, None] * (c / m) ** 0.5)
            self.compress.bias.zero_()
            self.unzip.bias.zero_()

    def style_code(self, fs: torch.Tensor) -> StyleCode:
        """Style features ``(N, C, h, w)`` -> ``(S (N, m, m), mean (N, C, 1, 1))``."""
        fs = fs.float()
        mean = fs.mean(dim=(2, 3), keepdim=True)
        return self.snet(fs - mean), mean

    def forward(self, fc: torch.Tensor, s_matrix: torch.Tensor, s_mean: torch.Tensor, perturb: torch.Tensor | None = None) -> torch.Tensor:
        """Content features ``(N, C, H, W)`` and a style code -> transformed features ``(N, C, H, W)``.

        ``perturb`` ``(m, m)``: multiplied between the style and content matrices (variety).
        """
        fc = fc.float()
        n, _, h, w = fc.shape
        centred = fc - fc.mean(dim=(2, 3), keepdim=True)
        c_matrix = self.cnet(centred)
        t = s_matrix @ c_matrix if perturb is None else s_matrix @ perturb @ c_matrix
        compressed = self.compress(centred).flatten(2)  # (N, m, HW)
        return self.unzip((t @ compressed).view(n, self.m, h, w)) + s_mean


@torch.no_grad()
def init_projection(t: LinearTransform, feats: Sequence[torch.Tensor]) -> None:
    """Start ``compress`` / ``unzip`` as the projection on the ``m`` principal directions of the
    (each centred) features ``feats``, ``(C, H, W)`` each: the training images' dominant feature
    directions, which a random start would take the transform many steps to find."""
    c = t.compress.in_channels
    cov, n = torch.zeros(c, c, dtype=torch.float64), 0
    for f in feats:
        x = f.double().flatten(1)
        x = x - x.mean(dim=1, keepdim=True)
        cov += x @ x.T
        n += x.shape[1]
    w = torch.linalg.eigh(cov / max(n, 1))[1][:, -t.m :].T.float()  # (m, C), orthonormal rows
    t.compress.weight.copy_(w[:, :, None, None])
    t.unzip.weight.copy_(w.T[:, :, None, None])
    t.compress.bias.zero_()
    t.unzip.bias.zero_()


class LinearStyleNet(nn.Module):
    """What a ``gram`` model folder holds: the transform and the decoder of its level (frozen)."""

    kind = "gram"

    def __init__(self, config: LinearConfig = LinearConfig()) -> None:
        super().__init__()
        self.config = config.validate()
        if config.layer != "relu4_1":
            raise BrushworkError(f"linear transform: only a relu4_1 decoder is available, not {config.layer}")
        self.transform = LinearTransform(config.layer, config.matrix_size)
        self.decoder = A.Decoder(A.AdaINConfig(arch=config.arch, width=config.decoder_width))


def perturbation(m: int, variety: float, seed: int) -> torch.Tensor | None:
    """``(1 - v) I + v Q`` with ``Q`` a random orthogonal ``(m, m)`` matrix from ``seed`` (Haar:
    QR of a Gaussian matrix, signs fixed by R's diagonal); ``None`` for v = 0.

    Raises:
        BrushworkError: ``variety`` outside [0, 1].
    """
    if not 0.0 <= variety <= 1.0:
        raise BrushworkError(f"variety must be between 0 and 1, not {variety}")
    if variety == 0:
        return None
    g = torch.Generator().manual_seed(int(seed))
    q, r = torch.linalg.qr(torch.randn(m, m, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return ((1 - variety) * torch.eye(m, dtype=torch.float64) + variety * q).float()


def check_style(style: torch.Tensor) -> None:
    """BrushworkError if a style image ``(3, h, w)`` is smaller than :data:`MIN_STYLE_PX`."""
    if min(style.shape[-2:]) < MIN_STYLE_PX:
        h, w = style.shape[-2:]
        raise BrushworkError(f"style image is {w}x{h} px; the gram method needs at least {MIN_STYLE_PX} px on each side")


def style_codes(encoder: VGGFeatures, net: LinearStyleNet, styles: Sequence[torch.Tensor]) -> list[StyleCode]:
    """The style code of each style image ``(3, h, w)`` in [0, 1] (encoded once, reused for every tile / frame)."""
    layer = net.config.layer
    codes = []
    for s in styles:
        check_style(s)
        codes.append(net.transform.style_code(encoder(s[None], [layer])[layer]))
    return codes


def blend_codes(codes: Sequence[StyleCode], weights: Sequence[float] | None) -> StyleCode:
    """Weighted mix of style codes (matrices and means): interpolation between styles."""
    weights = list(weights) if weights else [1.0] * len(codes)
    if len(weights) != len(codes):
        raise BrushworkError(f"{len(codes)} style(s) but {len(weights)} style weight(s)")
    total = float(sum(weights))
    if total <= 0 or any(w < 0 for w in weights):
        raise BrushworkError("style weights must be non-negative and not all zero")
    matrix = sum(w / total * c[0] for w, c in zip(weights, codes))
    mean = sum(w / total * c[1] for w, c in zip(weights, codes))
    return matrix, mean  # type: ignore[return-value]


def transfer(encoder: VGGFeatures, net: LinearStyleNet, content: torch.Tensor, codes: Sequence[StyleCode], *, alpha: float = 1.0,
             style_weights: Sequence[float] | None = None, mask: torch.Tensor | None = None, variety: float = 0.0, seed: int = 0) -> torch.Tensor:
    """Stylise ``content`` ``(3, H, W)`` in [0, 1] with the :func:`style_codes` of one or more styles.

    Args:
        alpha: 0 reconstructs the content, 1 is full style (a mix of the transformed and content features).
        style_weights: interpolation weights between the styles (default: equal).
        mask: ``(1, H, W)`` in [0, 1] with exactly two styles: the first where 1, the second where 0.
        variety, seed: the perturbation of :func:`perturbation` (0: deterministic).

    Returns ``(3, H, W)`` clamped to [0, 1].
    """
    if not 0.0 <= alpha <= 1.0:
        raise BrushworkError(f"alpha must be between 0 and 1, not {alpha}")
    if not codes:
        raise BrushworkError("the gram method needs at least one style image")
    layer, h, w = net.config.layer, *content.shape[-2:]
    fc = encoder(A._pad8(content[None]), [layer])[layer].float()
    p = perturbation(net.config.matrix_size, variety, seed)
    if mask is not None:
        if len(codes) != 2:
            raise BrushworkError(f"a mask needs exactly two styles (inside, outside), not {len(codes)}")
        m = F.interpolate(A._pad8(mask[None]), size=fc.shape[-2:], mode="area")
        t = m * net.transform(fc, *codes[0], p) + (1 - m) * net.transform(fc, *codes[1], p)
    else:
        t = net.transform(fc, *blend_codes(codes, style_weights), p)
    t = alpha * t + (1 - alpha) * fc
    return net.decoder(t)[0, :, :h, :w].float().clamp(0, 1)
