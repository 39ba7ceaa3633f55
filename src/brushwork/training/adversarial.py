"""Adversarial losses and regularisers, each a small function of discriminator logits (used by GANs and translation).

Conventions: ``real`` and ``fake`` are raw discriminator outputs (logits / critic
values) of shape ``(N,)``; every loss is a mean over the batch and is *minimised*.

=========  =====================================================  =========================
kind       discriminator                                          generator
=========  =====================================================  =========================
minimax    ``-log D(x) - log(1 - D(G(z)))``                       ``log(1 - D(G(z)))``
nonsat     same as minimax                                        ``-log D(G(z))``
lsgan      ``0.5 (D(x) - 1)^2 + 0.5 D(G(z))^2``                   ``0.5 (D(G(z)) - 1)^2``
wgan       ``D(G(z)) - D(x)`` (+ weight clipping)                 ``-D(G(z))``
wgan-gp    same as wgan (+ gradient penalty)                      ``-D(G(z))``
hinge      ``relu(1 - D(x)) + relu(1 + D(G(z)))``                 ``-D(G(z))``
=========  =====================================================  =========================

with ``D = sigmoid(logit)`` for minimax / nonsat (computed stably with softplus).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

LOSS_KINDS = ("minimax", "nonsat", "lsgan", "wgan", "wgan-gp", "hinge")


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss (scalar) for logits ``real`` and ``fake``, both ``(N,)``."""
    if kind in ("minimax", "nonsat"):
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()
    if kind in ("wgan", "wgan-gp"):
        return fake.mean() - real.mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    raise ValueError(f"unknown loss {kind!r}")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss (scalar) for the discriminator's logits ``fake`` ``(N,)`` on generated samples."""
    if kind == "minimax":
        return -F.softplus(fake).mean()  # log(1 - sigmoid(f)) = -softplus(f)
    if kind == "nonsat":
        return F.softplus(-fake).mean()  # -log sigmoid(f)
    if kind == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    if kind in ("wgan", "wgan-gp", "hinge"):
        return -fake.mean()
    raise ValueError(f"unknown loss {kind!r}")


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty ``mean((||grad critic(x_hat)||_2 - 1)^2)`` (Gulrajani et al. 2017).

    ``x_hat = alpha * real + (1 - alpha) * fake`` per sample; ``alpha`` has shape ``(N,)``
    with values in ``[0, 1]``. Gradient norms are taken per *critic input*: with a
    packed critic the ``pack`` samples of one input form one vector. The result keeps
    its graph (``create_graph``) so it can be back-propagated.
    """
    a = alpha.view(-1, *([1] * (real.dim() - 1))).to(real.dtype)
    x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    per_input = grad.reshape(out.shape[0], -1)
    return ((per_input.norm(2, dim=1) - 1) ** 2).mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """R1 penalty ``mean(||grad_x D(x)||^2)`` on real data (Mescheder et al. 2018); scale by ``gamma / 2``."""
    x = real.detach().requires_grad_(True)
    out = critic(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.reshape(out.shape[0], -1).pow(2).sum(dim=1).mean()


def lazy_r1_weight(gamma: float, every: int) -> float:
    """Weight of :func:`r1_penalty` when it is computed only every ``every`` D steps (lazy R1,
    Karras et al. 2020): ``gamma / 2``, scaled by ``every`` so the average pull is unchanged."""
    return 0.5 * gamma * every


@torch.no_grad()
def clip_weights(model: nn.Module, c: float) -> None:
    """WGAN weight clipping: clamp every parameter of ``model`` to ``[-c, c]`` in place."""
    for p in model.parameters():
        p.clamp_(-c, c)
