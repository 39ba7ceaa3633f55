"""What every generator and discriminator shares: the call signatures and output ranges."""

from __future__ import annotations

import torch
import torch.nn as nn

OUTPUTS = ("sigmoid", "tanh", "linear")


class Generator(nn.Module):
    """Base class: ``forward(z (N, z_dim), y (N,) long or None) -> (N, *out_shape)``.

    ``output`` names the final activation: ``sigmoid`` gives ``[0, 1]``, ``tanh``
    gives ``[-1, 1]``, ``linear`` (2-D points) is unbounded.
    """

    z_dim: int
    num_classes: int
    out_shape: tuple[int, ...]
    output: str

    def activate(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the final activation named by ``self.output``."""
        if self.output == "sigmoid":
            return torch.sigmoid(x)
        if self.output == "tanh":
            return torch.tanh(x)
        return x

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """Map generator output to ``[0, 1]`` images (identity for sigmoid and linear)."""
        return (x + 1) / 2 if self.output == "tanh" else x

    def from_unit(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``[0, 1]`` data to this generator's output range (inverse of :meth:`to_unit`)."""
        return x * 2 - 1 if self.output == "tanh" else x


class Discriminator(nn.Module):
    """Base class: ``forward(x (N, *in_shape), y (N,) or None) -> logits (N // pack,)``."""

    pack: int = 1
    num_classes: int = 0


def check_conditional(num_classes: int, pack: int) -> None:
    """Packing mixes several samples into one input, so it cannot be class-conditional."""
    if num_classes and pack > 1:
        raise ValueError("a packed discriminator (pack > 1) cannot be class-conditional")
