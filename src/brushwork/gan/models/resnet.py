"""ResNet GAN in the SNGAN style (Miyato et al. 2018; projection D from Miyato & Koyama 2018).

G: ``z -> linear -> 4x4xW``, one up-sampling residual block per octave
(BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, shortcut upsample + conv1x1; BN is
conditional when ``num_classes``), then BN-ReLU-conv3x3-tanh.
D: every layer spectrally normalised; an "optimised" first block
(conv3x3-ReLU-conv3x3-avgpool, shortcut avgpool-conv1x1), down-sampling blocks to
8x8, two blocks without down-sampling, ReLU, global sum pooling, a linear logit plus
the projection ``<embed(y), h>`` when conditional.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Discriminator, Generator, check_conditional
from .dcgan import octaves
from .layers import MinibatchStd, Norm, maybe_sn, pack, projection


class GBlock(nn.Module):
    """Up-sampling residual block: ``(N, cin, H, W) -> (N, cout, 2H, 2W)``."""

    def __init__(self, cin: int, cout: int, num_classes: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = Norm(cin, num_classes), Norm(cout, num_classes)
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, y)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), y)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DBlock(nn.Module):
    """Residual block, spectrally normalised: ``(N, cin, H, W) -> (N, cout, H/2 or H, ...)``.

    ``first`` makes it the optimised input block (no leading ReLU, pool before the shortcut conv).
    """

    def __init__(self, cin: int, cout: int, *, down: bool, first: bool = False, sn: bool = True) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = maybe_sn(nn.Conv2d(cin, cout, 3, 1, 1), sn)
        self.conv2 = maybe_sn(nn.Conv2d(cout, cout, 3, 1, 1), sn)
        self.skip = maybe_sn(nn.Conv2d(cin, cout, 1), sn) if (cin != cout or down) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        return h + self._shortcut(x)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.skip is None:
            return x
        if self.first:
            return self.skip(F.avg_pool2d(x, 2))
        s = self.skip(x)
        return F.avg_pool2d(s, 2) if self.down else s


class ResNetGenerator(Generator):
    """``z (N, z_dim)`` [+ ``y``] -> ``(N, channels, img_size, img_size)`` in ``[-1, 1]``; ``width`` channels throughout."""

    def __init__(self, z_dim: int = 128, img_size: int = 32, channels: int = 3, width: int = 256, num_classes: int = 0) -> None:
        super().__init__()
        n = octaves(img_size)
        self.z_dim, self.num_classes, self.output = z_dim, num_classes, "tanh"
        self.out_shape = (channels, img_size, img_size)
        self.width = width
        self.stem = nn.Linear(z_dim, 4 * 4 * width)
        self.blocks = nn.ModuleList(GBlock(width, width, num_classes) for _ in range(n))
        self.norm = nn.BatchNorm2d(width)
        self.to_rgb = nn.Conv2d(width, channels, 3, 1, 1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.stem(z).view(z.shape[0], self.width, 4, 4)
        for block in self.blocks:
            h = block(h, y)
        return self.activate(self.to_rgb(F.relu(self.norm(h))))


class ResNetDiscriminator(Discriminator):
    """Images ``(N, channels, img_size, img_size)`` [+ ``y``] -> logits ``(N // pack,)``."""

    def __init__(self, img_size: int = 32, channels: int = 3, width: int = 128, *, spectral_norm: bool = True, minibatch_std: bool = False, pack: int = 1, num_classes: int = 0) -> None:
        super().__init__()
        check_conditional(num_classes, pack)
        n = octaves(img_size)
        self.pack, self.num_classes = pack, num_classes
        sn = spectral_norm
        blocks = [DBlock(channels * pack, width, down=True, first=True, sn=sn)]
        blocks += [DBlock(width, width, down=True, sn=sn) for _ in range(max(0, n - 2))]
        blocks += [DBlock(width, width, down=False, sn=sn) for _ in range(2)]
        self.blocks = nn.Sequential(*blocks)
        self.mbstd = MinibatchStd() if minibatch_std else None
        last = width + (1 if minibatch_std else 0)
        self.out = maybe_sn(nn.Linear(last, 1), sn)
        self.embed = maybe_sn(nn.Embedding(num_classes, last), sn) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(self.blocks(pack(x, self.pack)))
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = h.sum(dim=(2, 3))
        return self.out(h).squeeze(1) + projection(h, y, self.embed)
