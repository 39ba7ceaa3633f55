"""The "normalised" VGG19 encoder of naoto0804/pytorch-AdaIN (``vgg_normalised.pth``), up to ``relu4_1``.

Converted from the Torch ``vgg_normalised.t7`` of Huang & Belongie's AdaIN code: a leading 1x1
convolution that takes RGB in [0, 1] to the network's own input convention (the Caffe BGR
0..255 minus the mean, folded into its weights), then VGG19's 3x3 convolutions with reflection
padding of 1 and 2x2 max pooling that rounds odd sizes up (``ceil_mode``). The layers keep the
original ``nn.Sequential`` indices, so a published state dict (all 53 layers, or its first 31)
loads key for key into ``layers``::

    0 conv 1x1 (3, 3)   2 conv (64, 3)   5 conv (64, 64)   [7 pool]
    9 conv (128, 64)    12 conv (128, 128)                 [14 pool]
    16 conv (256, 128)  19, 22, 25 conv (256, 256)         [27 pool]
    29 conv (512, 256) -> relu4_1 at index 30

Same call as :class:`~brushwork.backbones.vgg.VGGFeatures`: ``encoder(images, ["relu4_1"])``
with RGB ``(N, 3, H, W)`` in [0, 1] returns a dict of named activations. ``stats_correction``
is 1: the AdaIN decoder trained with this encoder computed feature standard deviations with
Bessel's correction (``torch.var``), which :mod:`brushwork.style.adain` then uses too.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import BrushworkError

ARCH = "vgg19"
LAST = 30  # index of relu4_1, the deepest layer kept
_NAMES = {3: "relu1_1", 6: "relu1_2", 10: "relu2_1", 13: "relu2_2", 17: "relu3_1", 20: "relu3_2",
          23: "relu3_3", 26: "relu3_4", 30: "relu4_1"}
_CONVS = {0: (3, 3, 1), 2: (3, 64, 3), 5: (64, 64, 3), 9: (64, 128, 3), 12: (128, 128, 3), 16: (128, 256, 3),
          19: (256, 256, 3), 22: (256, 256, 3), 25: (256, 256, 3), 29: (256, 512, 3)}
_POOLS = (7, 14, 27)


def conv_shapes() -> dict[int, tuple[int, int, int]]:
    """Sequential index -> ``(in, out, kernel)`` of every convolution up to ``relu4_1``."""
    return dict(_CONVS)


class NormalisedVGG19(nn.Module):
    """The encoder (see the module docs). ``arch`` is ``"vgg19"``; ``names`` the named layers."""

    arch = ARCH
    stats_correction = 1

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(LAST + 1):
            if i in _CONVS:
                cin, cout, k = _CONVS[i]
                layers.append(nn.Conv2d(cin, cout, k))
            elif i in _POOLS:
                layers.append(nn.MaxPool2d(2, 2, 0, ceil_mode=True))
            elif i - 1 in _CONVS and i != 1:
                layers.append(nn.ReLU())
            else:
                layers.append(nn.ReflectionPad2d(1))
        self.layers = nn.Sequential(*layers)
        self.names = [_NAMES[i] for i in sorted(_NAMES)]
        self.requires_grad_(False).eval()

    def channels(self, layer: str) -> int:
        """Channels of the named layer (``relu4_1`` -> 512)."""
        index = {v: k for k, v in _NAMES.items()}[layer]
        return _CONVS[index - 1][1]

    def forward(self, x: torch.Tensor, layers: list[str] | tuple[str, ...]) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` for RGB images ``x`` ``(N, 3, H, W)`` in [0, 1] (any size)."""
        unknown = [name for name in layers if name not in self.names]
        if unknown:
            raise BrushworkError(f"unknown layer(s) {', '.join(unknown)} of the normalised VGG19 (it ends at relu4_1)")
        index = {v: k for k, v in _NAMES.items()}
        wanted = {index[name]: name for name in layers}
        last = max(wanted)
        h = x.to(self.layers[0].weight.dtype)
        out: dict[str, torch.Tensor] = {}
        for i, module in enumerate(self.layers):
            h = module(h)
            if i in wanted:
                out[wanted[i]] = h
            if i == last:
                break
        return out
