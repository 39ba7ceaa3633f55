"""BigGAN-style and SAGAN-style residual GANs (Brock et al. 2019; Zhang et al. 2019).

Both put spectral norm on every layer of G *and* D and a self-attention block at
``attention_res`` px (0 = none); G is ``z -> linear -> 4x4xW`` then one up-sampling
residual block per octave, BN-ReLU-conv3x3-tanh; D is the SNGAN residual D
(:class:`~brushwork.gan.models.resnet.DBlock`) with a projection term when conditional.

* ``hierarchical=True`` (BigGAN): ``z`` is split into one chunk for the stem and one per
  block; each block's batch norms take their gain and bias from a linear map of
  ``[z_chunk, shared(y)]``, where ``shared`` is one class embedding all blocks share.
* ``hierarchical=False`` (SAGAN): the whole ``z`` goes to the stem; batch norm is
  class-conditional (own gain / bias tables per layer) or plain.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention import SelfAttention, attention_index
from .base import Discriminator, Generator, check_conditional
from .dcgan import octaves
from .layers import MinibatchStd, Norm, maybe_sn, pack, projection
from .resnet import DBlock


class LinearCBN(nn.Module):
    """Batch norm with gain ``1 + W_g c`` and bias ``W_b c`` from a conditioning vector ``c (N, cond_dim)``."""

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = maybe_sn(nn.Linear(cond_dim, channels, bias=False), True)
        self.bias = maybe_sn(nn.Linear(cond_dim, channels, bias=False), True)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * (1 + self.gain(c)[:, :, None, None]) + self.bias(c)[:, :, None, None]


class GBlock(nn.Module):
    """Up-sampling residual block ``(N, cin, H, W) -> (N, cout, 2H, 2W)``, spectrally normalised.

    ``cond_dim`` > 0: norms are :class:`LinearCBN` on a vector; else :class:`Norm` on labels.
    """

    def __init__(self, cin: int, cout: int, *, cond_dim: int = 0, num_classes: int = 0) -> None:
        super().__init__()
        make = (lambda c: LinearCBN(c, cond_dim)) if cond_dim else (lambda c: Norm(c, num_classes))
        self.norm1, self.norm2 = make(cin), make(cout)
        self.conv1 = maybe_sn(nn.Conv2d(cin, cout, 3, 1, 1), True)
        self.conv2 = maybe_sn(nn.Conv2d(cout, cout, 3, 1, 1), True)
        self.skip = maybe_sn(nn.Conv2d(cin, cout, 1), True)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, c)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), c)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _split_sizes(z_dim: int, parts: int) -> list[int]:
    if z_dim < parts:
        raise ValueError(f"model.z_dim {z_dim} is too small to split over {parts} generator stages (hierarchical latent)")
    base = z_dim // parts
    return [base + z_dim - base * parts] + [base] * (parts - 1)


class BigGANGenerator(Generator):
    """``z (N, z_dim)`` [+ ``y``] -> ``(N, channels, img_size, img_size)`` in ``[-1, 1]`` (see module docs)."""

    def __init__(self, z_dim: int = 120, img_size: int = 32, channels: int = 3, width: int = 64, num_classes: int = 0, *, hierarchical: bool = True, shared_dim: int = 16, attention_res: int = 0) -> None:
        super().__init__()
        n = octaves(img_size)
        self.z_dim, self.num_classes, self.output = z_dim, num_classes, "tanh"
        self.out_shape = (channels, img_size, img_size)
        self.width, self.hierarchical = width, hierarchical
        self.z_sizes = _split_sizes(z_dim, n + 1) if hierarchical else [z_dim]
        self.shared = nn.Embedding(num_classes, shared_dim) if hierarchical and num_classes else None
        cond_dim = (self.z_sizes[-1] + (shared_dim if self.shared is not None else 0)) if hierarchical else 0
        self.stem = maybe_sn(nn.Linear(self.z_sizes[0], 4 * 4 * width), True)
        self.blocks = nn.ModuleList(GBlock(width, width, cond_dim=cond_dim, num_classes=num_classes) for _ in range(n))
        self.attn_at = attention_index([2 ** (3 + i) for i in range(n)], attention_res, img_size)
        self.attention = SelfAttention(width) if self.attn_at >= 0 else None
        self.norm = nn.BatchNorm2d(width)
        self.to_rgb = maybe_sn(nn.Conv2d(width, channels, 3, 1, 1), True)

    def conditions(self, z: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """The stem's input and one conditioning input per block (vectors, or the labels)."""
        if not self.hierarchical:
            return z, [y] * len(self.blocks)
        chunks = z.split(self.z_sizes, dim=1)
        e = self.shared(y) if self.shared is not None else None
        return chunks[0], [c if e is None else torch.cat([c, e], dim=1) for c in chunks[1:]]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        stem_in, conds = self.conditions(z, y)
        h = self.stem(stem_in).view(z.shape[0], self.width, 4, 4)
        for i, (block, c) in enumerate(zip(self.blocks, conds)):
            h = block(h, c)
            if i == self.attn_at:
                h = self.attention(h)
        return self.activate(self.to_rgb(F.relu(self.norm(h))))


class BigGANDiscriminator(Discriminator):
    """Residual D, spectrally normalised, self-attention after the first block that reaches
    ``attention_res`` px, projection when conditional: images -> logits ``(N // pack,)``."""

    def __init__(self, img_size: int = 32, channels: int = 3, width: int = 64, *, attention_res: int = 0, minibatch_std: bool = False, pack: int = 1, num_classes: int = 0) -> None:
        super().__init__()
        check_conditional(num_classes, pack)
        n = octaves(img_size)
        self.pack, self.num_classes = pack, num_classes
        blocks = [DBlock(channels * pack, width, down=True, first=True)]
        blocks += [DBlock(width, width, down=True) for _ in range(max(0, n - 2))]
        blocks += [DBlock(width, width, down=False) for _ in range(2)]
        self.blocks = nn.ModuleList(blocks)
        resolutions = [img_size // 2 ** (i + 1) for i in range(len(blocks) - 2)] + [8, 8]
        self.attn_at = attention_index(resolutions, attention_res, img_size)
        self.attention = SelfAttention(width) if self.attn_at >= 0 else None
        self.mbstd = MinibatchStd() if minibatch_std else None
        last = width + (1 if minibatch_std else 0)
        self.out = maybe_sn(nn.Linear(last, 1), True)
        self.embed = maybe_sn(nn.Embedding(num_classes, last), True) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = pack(x, self.pack)
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attn_at:
                h = self.attention(h)
        h = F.relu(h)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = h.sum(dim=(2, 3))
        return self.out(h).squeeze(1) + projection(h, y, self.embed)
