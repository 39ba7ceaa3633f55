"""The translation objectives, in the reference implementation's scaling.

``adv_d`` is ``0.5 * (c(D(real), 1) + c(D(fake), 0))`` and ``adv_g`` is ``c(D(G(x)), 1)``, where
``c`` is the mean squared error (``lsgan``) or the binary cross-entropy on logits
(``vanilla``), averaged over every patch logit, computed in float32. Both are written with
:mod:`brushwork.training.adversarial`; the reconstruction terms are mean absolute errors.
"""

from __future__ import annotations

import torch

from ..training import adversarial


def adv_d(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss on patch logits of real and (detached) fake inputs, any shapes."""
    real, fake = real.float().reshape(-1), fake.float().reshape(-1)
    if kind == "lsgan":
        return adversarial.d_loss("lsgan", real, fake)  # already 0.5 * (mse_real + mse_fake)
    return 0.5 * adversarial.d_loss("minimax", real, fake)


def adv_g(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss on the discriminator's patch logits for generated inputs."""
    fake = fake.float().reshape(-1)
    if kind == "lsgan":
        return 2.0 * adversarial.g_loss("lsgan", fake)  # mse(fake, 1)
    return adversarial.g_loss("nonsat", fake)


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference (in float32)."""
    return (a.float() - b.float()).abs().mean()
