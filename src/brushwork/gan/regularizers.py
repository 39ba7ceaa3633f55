"""Family-specific regularisers: BigGAN's orthogonal regularisation and StyleGAN2's
path-length regularisation (lazy R1 is :func:`brushwork.training.adversarial.r1_penalty` applied
every ``r1_every`` D steps with its weight scaled by ``r1_every``)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn


def orthogonal_penalty(model: nn.Module) -> torch.Tensor:
    """BigGAN's ``sum_W ||W W^T * (1 - I)||_F^2`` over the weight matrices of ``model``'s
    convolutions and linear layers (rows = output units; embeddings, norms and biases excluded).
    Spectrally normalised layers contribute their raw (un-normalised) weight."""
    total = None
    for module in model.modules():
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        w = module.parametrizations.weight.original if hasattr(module, "parametrizations") else module.weight
        w = w.flatten(1)
        gram = w @ w.t()
        term = (gram * (1 - torch.eye(gram.shape[0], device=w.device, dtype=w.dtype))).square().sum()
        total = term if total is None else total + term
    if total is None:
        return torch.zeros(())
    return total


class PathLength:
    """StyleGAN2's path-length regulariser: penalises ``(|J_w^T y| - a)^2`` where ``y`` is
    Gaussian image-space noise scaled by ``1 / sqrt(H W)`` and ``a`` is a running mean of
    the lengths (decay 0.99). ``mean`` is the state a checkpoint keeps."""

    def __init__(self, decay: float = 0.01, mean: float = 0.0) -> None:
        self.decay, self.mean = decay, mean

    def penalty(self, G: nn.Module, z: torch.Tensor, y: torch.Tensor | None, gen: torch.Generator) -> torch.Tensor:
        """The penalty on the batch ``z`` (labels ``y``); updates :attr:`mean`. ``G`` is a StyleGAN2 generator."""
        ws = G.broadcast(G.mapping(z, y))
        img = G.synthesis(ws)
        noise = torch.randn(img.shape, generator=gen).to(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
        lengths = grad.square().sum(2).mean(1).sqrt()
        self.mean = self.mean + self.decay * (float(lengths.detach().mean()) - self.mean)
        return (lengths - self.mean).square().mean()
