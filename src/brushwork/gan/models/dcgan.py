"""DCGAN (Radford et al. 2016): strided (transposed) convolutions, batch norm, ReLU / LeakyReLU.

G: ``z -> 4x4`` (transposed conv) then one ``x2`` transposed-conv block per octave up to
``img_size`` (8 to 128 px, a power of two), batch norm (conditional when ``num_classes``)
and ReLU, ``tanh`` output. D mirrors it with stride-2 convolutions, LeakyReLU(0.2), batch
norm except on the first layer (optional), a 4x4 valid convolution to one logit, and a
projection term when conditional.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Discriminator, Generator, check_conditional
from .layers import MinibatchStd, Norm, leaky, maybe_sn, pack, projection


def octaves(img_size: int, low: int = 8, high: int = 128) -> int:
    """Number of ``x2`` steps from 4 px to ``img_size`` (a power of two in ``[low, high]``)."""
    n = int(round(math.log2(img_size))) if img_size > 0 else -1
    if img_size < low or img_size > high or 2**n != img_size:
        raise ValueError(f"image size {img_size} px: this model makes powers of two from {low} to {high} px")
    return n - 2


class DCGANGenerator(Generator):
    """``z (N, z_dim)`` [+ ``y``] -> images ``(N, channels, img_size, img_size)`` in ``[-1, 1]``.

    ``width`` is the channel count of the last hidden layer; each coarser level doubles it.
    """

    def __init__(self, z_dim: int = 100, img_size: int = 32, channels: int = 3, width: int = 64, num_classes: int = 0) -> None:
        super().__init__()
        n = octaves(img_size)
        self.z_dim, self.num_classes, self.output = z_dim, num_classes, "tanh"
        self.out_shape = (channels, img_size, img_size)
        chans = [width * 2 ** (n - 1 - i) for i in range(n)]  # 4x4 ... img_size/2
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        self.stem = nn.ConvTranspose2d(z_dim, chans[0], 4, 1, 0, bias=False)
        self.stem_norm = Norm(chans[0], num_classes)
        self.ups = nn.ModuleList(nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False) for a, b in zip(chans[:-1], chans[1:]))
        self.norms = nn.ModuleList(Norm(c, num_classes) for c in chans[1:])
        self.to_rgb = nn.ConvTranspose2d(chans[-1], channels, 4, 2, 1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = z if self.embed is None else z * self.embed(y)
        h = F.relu(self.stem_norm(self.stem(h.view(*h.shape, 1, 1)), y))
        for up, norm in zip(self.ups, self.norms):
            h = F.relu(norm(up(h), y))
        return self.activate(self.to_rgb(h))


class DCGANDiscriminator(Discriminator):
    """Images ``(N, channels, img_size, img_size)`` [+ ``y``] -> logits ``(N // pack,)``."""

    def __init__(self, img_size: int = 32, channels: int = 3, width: int = 64, *, batchnorm: bool = True, spectral_norm: bool = False, minibatch_std: bool = False, pack: int = 1, num_classes: int = 0) -> None:
        super().__init__()
        check_conditional(num_classes, pack)
        n = octaves(img_size)
        self.pack, self.num_classes = pack, num_classes
        chans = [width * 2**i for i in range(n)]  # img_size/2 ... 4x4
        self.from_rgb = maybe_sn(nn.Conv2d(channels * pack, chans[0], 4, 2, 1), spectral_norm)
        self.downs = nn.ModuleList(maybe_sn(nn.Conv2d(a, b, 4, 2, 1, bias=not batchnorm), spectral_norm) for a, b in zip(chans[:-1], chans[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm2d(c) if batchnorm else nn.Identity() for c in chans[1:])
        self.mbstd = MinibatchStd() if minibatch_std else None
        last = chans[-1] + (1 if minibatch_std else 0)
        self.out = maybe_sn(nn.Conv2d(last, 1, 4, 1, 0), spectral_norm)
        self.embed = maybe_sn(nn.Embedding(num_classes, last), spectral_norm) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = leaky(self.from_rgb(pack(x, self.pack)))
        for down, norm in zip(self.downs, self.norms):
            h = leaky(norm(down(h)))
        if self.mbstd is not None:
            h = self.mbstd(h)
        return self.out(h).flatten() + projection(h.sum(dim=(2, 3)), y, self.embed)
