"""Fully connected GANs: the classic MNIST pair and the 2-D mixture pair (PacGAN's setup).

* Classic (Goodfellow et al. 2014 style): G ``z 100 -> 128 -> 128 -> 100 -> 784`` with
  ReLU and a sigmoid output; D ``784 -> 128 -> 128 -> 1`` with LeakyReLU(0.2).
* Mixtures (VEEGAN / PacGAN): G ``z 2 -> 4 x 400`` ReLU + batch norm, linear 2-D output;
  D ``3 x 200`` maxout with 5 pieces. Optionally D sees random Fourier features of its
  input (:class:`FourierFeatures`; Tancik et al. 2020): a ReLU / maxout network on raw 2-D
  coordinates learns narrow bumps slowly (spectral bias), so it cannot tell 25 tight modes
  from a blur for thousands of steps; with the features it can within a few hundred.
  G may see Fourier features of its noise for the same reason: it must map the connected
  noise plane onto separate islands, and sharp steps between them come slowly on raw z.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Discriminator, Generator, check_conditional
from .layers import MaxoutLinear, MinibatchStd, Norm, leaky, maybe_sn, pack, projection


class MLPGenerator(Generator):
    """``z (N, z_dim)`` [+ class ``y (N,)``] -> ``(N, *out_shape)``.

    Args:
        z_dim: noise size.
        hidden: hidden layer widths, e.g. ``(128, 128, 100)``.
        out_shape: output shape per sample, e.g. ``(1, 28, 28)`` or ``(2,)``.
        batchnorm: batch norm (conditional when ``num_classes``) after each hidden layer.
        output: ``sigmoid``, ``tanh`` or ``linear``.
        num_classes: 0 for unconditional; else a class embedding is added to the input.
        fourier: random Fourier features of z (0 = raw z); ``fourier_scale``: their frequencies'
            standard deviation in cycles per unit of z.
    """

    def __init__(self, z_dim: int, hidden: Sequence[int], out_shape: Sequence[int], *, batchnorm: bool = False, output: str = "sigmoid", num_classes: int = 0, fourier: int = 0, fourier_scale: float = 1.0) -> None:
        super().__init__()
        self.z_dim, self.num_classes, self.output = z_dim, num_classes, output
        self.out_shape = tuple(out_shape)
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        self.fourier = FourierFeatures(z_dim, fourier, fourier_scale) if fourier else None
        widths = [z_dim if self.fourier is None else self.fourier.out_dim, *hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.norms = nn.ModuleList(Norm(w, num_classes, batchnorm, dims=1) for w in hidden)
        self.out = nn.Linear(widths[-1], math.prod(self.out_shape))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = z if self.embed is None else z + self.embed(y)
        h = h if self.fourier is None else self.fourier(h)
        for layer, norm in zip(self.layers, self.norms):
            h = F.relu(norm(layer(h), y))
        return self.activate(self.out(h)).view(z.shape[0], *self.out_shape)


class FourierFeatures(nn.Module):
    """``x (N, d)`` -> ``(N, d + 2k)``: ``[x, sin(2 pi x B), cos(2 pi x B)]`` with fixed random
    frequencies ``B (d, k)`` drawn from ``N(0, scale^2)`` (kept in the state dict)."""

    def __init__(self, dim: int, k: int, scale: float) -> None:
        super().__init__()
        self.register_buffer("freqs", torch.randn(dim, k) * (2 * math.pi * scale))
        self.out_dim = dim + 2 * k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = x @ self.freqs
        return torch.cat([x, torch.sin(p), torch.cos(p)], dim=1)


class MLPDiscriminator(Discriminator):
    """``x (N, *in_shape)`` [+ ``y``] -> logits ``(N // pack,)``.

    Args:
        in_shape: sample shape, e.g. ``(1, 28, 28)`` or ``(2,)``.
        hidden: hidden widths.
        maxout: pieces per maxout unit (1 = LeakyReLU(0.2) units instead).
        pack: PacGAN packing degree (``pack`` samples judged together).
        minibatch_std: append the minibatch-std feature before the output layer.
        spectral_norm: spectral normalisation on every linear layer.
        num_classes: 0, or the number of classes for a projection discriminator.
        fourier: random Fourier features per sample (0 = raw input); ``fourier_scale``: their
            frequencies' standard deviation in cycles per input unit.
    """

    def __init__(self, in_shape: Sequence[int], hidden: Sequence[int], *, maxout: int = 1, pack: int = 1, minibatch_std: bool = False, spectral_norm: bool = False, num_classes: int = 0, fourier: int = 0, fourier_scale: float = 1.0) -> None:
        super().__init__()
        check_conditional(num_classes, pack)
        self.pack, self.num_classes = pack, num_classes
        self.fourier = FourierFeatures(math.prod(in_shape), fourier, fourier_scale) if fourier else None
        per_sample = self.fourier.out_dim if self.fourier is not None else math.prod(in_shape)
        widths = [per_sample * pack, *hidden]
        if maxout > 1:
            self.layers = nn.ModuleList(MaxoutLinear(a, b, maxout, spectral_norm) for a, b in zip(widths[:-1], widths[1:]))
        else:
            self.layers = nn.ModuleList(maybe_sn(nn.Linear(a, b), spectral_norm) for a, b in zip(widths[:-1], widths[1:]))
        self.maxout = maxout
        self.mbstd = MinibatchStd() if minibatch_std else None
        last = widths[-1] + (1 if minibatch_std else 0)
        self.out = maybe_sn(nn.Linear(last, 1), spectral_norm)
        self.embed = maybe_sn(nn.Embedding(num_classes, last), spectral_norm) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = x.reshape(x.shape[0], -1)
        h = pack(h if self.fourier is None else self.fourier(h), self.pack)
        for layer in self.layers:
            h = layer(h) if self.maxout > 1 else leaky(layer(h))
        if self.mbstd is not None:
            h = self.mbstd(h)
        return self.out(h).squeeze(1) + projection(h, y, self.embed)
