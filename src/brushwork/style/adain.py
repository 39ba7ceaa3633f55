"""Arbitrary style transfer in one pass: AdaIN (Huang & Belongie, 2017).

A frozen VGG encoder up to ``relu4_1`` (the backbone's own weights, never stored in
the model file), the AdaIN layer that gives the content features the channel-wise mean
and standard deviation of the style features, and a decoder that mirrors the encoder
(nearest x2 up-sampling, reflection padding, no normalisation). Only the decoder is
trained and saved.

Inference options: the content-style trade-off ``alpha``, interpolation between
several styles with weights, colour preservation, and a mask that confines each of
two styles to a region (``mask`` 1 -> first style, 0 -> second).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..backbones.vgg import VGGFeatures
from ..bounds import check_choice, check_float, check_network_memory
from ..errors import BrushworkError
from .fast import run_sequential, weight_precision

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
CONTENT_LAYER = "relu4_1"
_EPS = 1e-5


def mean_std(feat: torch.Tensor, mask: torch.Tensor | None = None, correction: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel mean and standard deviation of ``(N, C, H, W)`` features, each ``(N, C, 1, 1)``.

    With ``mask`` ``(N, 1, H, W)`` in [0, 1], the statistics are weighted by it. Computed in
    float32 (from bfloat16 features too), the variance in two passes: about 9x faster on a CPU
    than ``Tensor.var`` and as exact. ``correction`` 1 divides the (unmasked) variance by
    ``H * W - 1`` instead of ``H * W`` (Bessel's correction, as ``torch.var``).
    """
    feat = feat.float()
    if mask is None:
        mean = feat.mean(dim=(2, 3), keepdim=True)
        var = (feat - mean).pow(2).mean(dim=(2, 3), keepdim=True)
        if correction:
            n = feat.shape[2] * feat.shape[3]
            var = var * (n / max(1, n - correction))
    else:
        w = mask / mask.sum(dim=(2, 3), keepdim=True).clamp_min(_EPS)
        mean = (feat * w).sum(dim=(2, 3), keepdim=True)
        var = ((feat - mean).pow(2) * w).sum(dim=(2, 3), keepdim=True)
    return mean, (var + _EPS).sqrt()


def adain(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor, correction: int = 0) -> torch.Tensor:
    """Normalise ``content`` per channel and give it ``style_mean`` / ``style_std``
    (``correction``: see :func:`mean_std`)."""
    c_mean, c_std = mean_std(content, correction=correction)
    return (content - c_mean) / c_std * style_std + style_mean


@dataclass(frozen=True)
class AdaINConfig:
    """Shape of the decoder: ``arch`` of the encoder it mirrors (``vgg16`` / ``vgg19``) and
    ``width``, a channel multiplier (1.0 is the paper's decoder; 0.5 a light one).

    ``encoder``: ``"backbone"`` (the model's VGG backbone, not stored with the decoder) or
    ``"vgg19-normalised"`` (naoto0804/pytorch-AdaIN's encoder, stored with the decoder as
    ``encoder.*``; see :mod:`brushwork.backbones.vgg_normalised`).
    """

    arch: str = "vgg16"
    width: float = 1.0
    encoder: str = "backbone"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, pixels: int = 512 * 512, limit: int | None = None) -> "AdaINConfig":
        """Check ``arch`` (vgg16 / vgg19) and ``width`` (0.1..2), and that encoder, decoder and
        their activations on a ``pixels``-pixel image fit in ``limit`` bytes (default: the
        available memory). Raises BrushworkError; returns ``self``."""
        check_choice(self.arch, "AdaIN decoder: arch", ("vgg16", "vgg19"))
        check_float(self.width, "AdaIN decoder: width", 0.1, 2.0)
        check_network_memory(self.parameters(), self.activations(pixels), f"an AdaIN decoder of width {self.width}", limit=limit)
        return self

    def channels(self) -> list[int]:
        """Decoder widths after relu4_1, relu3_1 and relu2_1 (at least 8 each)."""
        return [max(8, round(n * self.width)) for n in (256, 128, 64)]

    def parameters(self) -> int:
        """Weights of the decoder plus the VGG encoder up to relu4_1 (about 3.5 M)."""
        c = self.channels()
        conv = lambda cin, cout: cin * cout * 9 + cout  # noqa: E731
        block3 = 3 if self.arch == "vgg16" else 4
        decoder = conv(512, c[0]) + (block3 - 1) * conv(c[0], c[0]) + conv(c[0], c[1]) + conv(c[1], c[1]) + conv(c[1], c[2]) + conv(c[2], c[2]) + conv(c[2], 3)
        return decoder + 3_500_000

    def activations(self, pixels: int) -> int:
        """Float values alive at the peak of a pass on a ``pixels``-pixel image (about three
        tensors per stage of the encoder and the decoder)."""
        c = self.channels()
        return 3 * pixels * (64 + 32 + 16 + 8) + 3 * pixels * (c[2] + c[1] // 4 + c[0] // 16 + 4)


def _conv(cin: int, cout: int, relu: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")]
    return layers + [nn.ReLU()] if relu else layers  # in-place ReLU is slower in bfloat16 on CPUs


class Decoder(nn.Module):
    """Mirror of the VGG encoder from ``relu4_1`` back to RGB (see module docstring)."""

    kind = "adain"

    def __init__(self, config: AdaINConfig = AdaINConfig()) -> None:
        super().__init__()
        if config.arch not in ("vgg16", "vgg19"):
            raise BrushworkError(f"AdaIN decoder: arch must be vgg16 or vgg19, not {config.arch!r}")
        if not 0.1 <= config.width <= 2:
            raise BrushworkError(f"AdaIN decoder: width must be between 0.1 and 2, not {config.width}")
        self.config = config
        if config.encoder == "vgg19-normalised":
            from ..backbones.vgg_normalised import NormalisedVGG19

            if config.arch != "vgg19":
                raise BrushworkError("AdaIN decoder: the vgg19-normalised encoder needs arch vgg19")
            self.encoder = NormalisedVGG19()
        elif config.encoder != "backbone":
            raise BrushworkError(f"AdaIN decoder: encoder must be backbone or vgg19-normalised, not {config.encoder!r}")
        c = config.channels()
        block3 = 3 if config.arch == "vgg16" else 4
        up = nn.Upsample(scale_factor=2.0, mode="nearest")
        layers: list[nn.Module] = [*_conv(512, c[0]), up]
        for _ in range(block3 - 1):
            layers += _conv(c[0], c[0])
        layers += [*_conv(c[0], c[1]), up, *_conv(c[1], c[1]), *_conv(c[1], c[2]), up, *_conv(c[2], c[2]), *_conv(c[2], 3, relu=False)]
        self.net = nn.Sequential(*layers)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """``relu4_1``-like features ``(N, 512, h, w)`` -> RGB ``(N, 3, 8h, 8w)`` (unclamped).

        Each up-sampling and the convolution after it run as one :func:`~.fast.upsample_conv`.
        A decoder whose weights were cast to bfloat16 runs in bfloat16 (:func:`~.fast.weight_precision`).
        """
        weight = self.net[0].weight
        with weight_precision(weight):
            return run_sequential(self.net, feat.to(weight.dtype))

    def reference(self, feat: torch.Tensor) -> torch.Tensor:
        """The textbook form (up-sample, then convolve) that :meth:`forward` computes."""
        return self.net(feat)


def encode(encoder: VGGFeatures, images: torch.Tensor, layers: Sequence[str] = (CONTENT_LAYER,)) -> dict[str, torch.Tensor]:
    """Encoder activations of ``images`` (RGB in [0, 1], any size) at ``layers``."""
    return encoder(images, list(layers))


def _pad8(x: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % 8, (-w) % 8
    return F.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x


def style_statistics(encoder: VGGFeatures, styles: Sequence[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(mean, std)`` at ``relu4_1`` of each style image ``(3, H, W)``, each ``(1, 512, 1, 1)``;
    :func:`blend_statistics` mixes them. The standard deviation uses the encoder's
    ``stats_correction`` (0 when it has none)."""
    correction = getattr(encoder, "stats_correction", 0)
    return [mean_std(encode(encoder, s[None])[CONTENT_LAYER], correction=correction) for s in styles]


def blend_statistics(stats: Sequence[tuple[torch.Tensor, torch.Tensor]], weights: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted mix of style statistics (interpolation between styles, weights summing to 1)."""
    if len(weights) != len(stats):
        raise BrushworkError(f"{len(stats)} style(s) but {len(weights)} style weight(s)")
    total = float(sum(weights))
    if total <= 0 or any(w < 0 for w in weights):
        raise BrushworkError("style weights must be non-negative and not all zero")
    mean = sum(w / total * m for w, (m, _) in zip(weights, stats))
    std = sum(w / total * s for w, (_, s) in zip(weights, stats))
    return mean, std  # type: ignore[return-value]


def transfer(
    encoder: VGGFeatures,
    decoder: Decoder,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    *,
    alpha: float = 1.0,
    style_weights: Sequence[float] | None = None,
    mask: torch.Tensor | None = None,
    stats: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> torch.Tensor:
    """Stylise ``content`` ``(3, H, W)`` in [0, 1] with the style image(s) ``(3, h, w)``.

    Args:
        alpha: 0 reconstructs the content, 1 is full style.
        style_weights: interpolation weights between the styles (default: equal).
        mask: ``(1, H, W)`` in [0, 1]; needs exactly two styles: the first applies
            where the mask is 1, the second where it is 0.
        stats: the styles' :func:`style_statistics` when already computed (tiles, video
            frames); ``styles`` is then not encoded again.

    Returns ``(3, H, W)`` clamped to [0, 1].
    """
    if not 0.0 <= alpha <= 1.0:
        raise BrushworkError(f"alpha must be between 0 and 1, not {alpha}")
    if not styles and not stats:
        raise BrushworkError("AdaIN needs at least one style image")
    h, w = content.shape[-2:]
    correction = getattr(encoder, "stats_correction", 0)
    fc = encode(encoder, _pad8(content[None]))[CONTENT_LAYER]
    stats = style_statistics(encoder, styles) if stats is None else stats
    if mask is not None:
        if len(stats) != 2:
            raise BrushworkError(f"a mask needs exactly two styles (inside, outside), not {len(stats)}")
        m = F.interpolate(_pad8(mask[None]), size=fc.shape[-2:], mode="area")
        t = m * adain(fc, *stats[0], correction) + (1 - m) * adain(fc, *stats[1], correction)
    else:
        t = adain(fc, *blend_statistics(stats, style_weights or [1.0] * len(stats)), correction)
    t = alpha * t + (1 - alpha) * fc
    return decoder(t)[0, :, :h, :w].clamp(0, 1)
