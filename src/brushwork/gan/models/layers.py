"""Small layers shared by the GAN families: minibatch-std, packing, maxout, conditional BN."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm


def maybe_sn(module: nn.Module, enabled: bool) -> nn.Module:
    """Wrap ``module`` in spectral normalisation (one power iteration per call) when ``enabled``."""
    return spectral_norm(module) if enabled else module


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """PacGAN packing: ``(N, C, ...)`` -> ``(N // m, m * C, ...)``, consecutive samples joined.

    ``N`` must be divisible by ``m``; ``m == 1`` returns ``x`` unchanged.
    """
    if m == 1:
        return x
    n = x.shape[0]
    if n % m:
        raise ValueError(f"batch of {n} cannot be packed in groups of {m}")
    return x.reshape(n // m, m * x.shape[1], *x.shape[2:])


class MinibatchStd(nn.Module):
    """Append the mean across-group standard deviation as one extra feature (ProGAN).

    Input ``(N, C, H, W)`` or ``(N, F)``; output has one more channel / feature.
    Samples are split into groups of ``group_size`` (or the whole batch when it does
    not divide); the statistic is the std over each group, averaged over features.
    """

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        g = self.group_size if n % self.group_size == 0 else n
        y = x.reshape(g, n // g, *x.shape[1:])
        std = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8)  # (n/g, ...)
        s = std.reshape(n // g, -1).mean(dim=1)  # (n/g,)
        s = s.repeat(g)  # sample i belongs to group i % (n/g)
        shape = (n, 1, *x.shape[2:])
        return torch.cat([x, s.view(n, *([1] * (x.dim() - 1))).expand(shape)], dim=1)


class MaxoutLinear(nn.Module):
    """Linear layer with ``pieces`` outputs per unit, keeping the maximum: ``(N, in) -> (N, out)``."""

    def __init__(self, in_features: int, out_features: int, pieces: int, sn: bool = False) -> None:
        super().__init__()
        self.pieces = pieces
        self.linear = maybe_sn(nn.Linear(in_features, out_features * pieces), sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x)
        return y.view(x.shape[0], -1, self.pieces).amax(dim=2)


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose scale and shift come from a class embedding (``(N, C, ...)``, labels ``(N,)``).

    Scales start at 1 and shifts at 0, so an untrained layer is plain batch norm.
    """

    def __init__(self, num_features: int, num_classes: int, dims: int = 2) -> None:
        super().__init__()
        bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
        self.bn = bn(num_features, affine=False)
        self.gamma = nn.Embedding(num_classes, num_features)
        self.beta = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.bn(x)
        shape = (x.shape[0], -1) + (1,) * (x.dim() - 2)
        return self.gamma(y).view(shape) * h + self.beta(y).view(shape)


class Norm(nn.Module):
    """Batch norm, conditional batch norm (when ``num_classes``) or nothing, with one call signature."""

    def __init__(self, num_features: int, num_classes: int, enabled: bool = True, dims: int = 2) -> None:
        super().__init__()
        self.conditional = num_classes > 0 and enabled
        if self.conditional:
            self.norm: nn.Module = ConditionalBatchNorm(num_features, num_classes, dims)
        elif enabled:
            self.norm = nn.BatchNorm2d(num_features) if dims == 2 else nn.BatchNorm1d(num_features)
        else:
            self.norm = nn.Identity()

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.norm(x, y) if self.conditional else self.norm(x)


def projection(features: torch.Tensor, y: torch.Tensor | None, embed: nn.Module | None) -> torch.Tensor:
    """Projection-discriminator term ``<embed(y), features>`` of shape ``(N,)``; 0 when unconditional."""
    if embed is None or y is None:
        return features.new_zeros(features.shape[0])
    return (embed(y) * features).sum(dim=1)


def leaky(x: torch.Tensor) -> torch.Tensor:
    """LeakyReLU with slope 0.2, the discriminators' default activation."""
    return F.leaky_relu(x, 0.2)
