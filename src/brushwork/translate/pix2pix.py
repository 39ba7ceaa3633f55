"""pix2pix (Isola et al. 2017): a U-Net generator and a conditional 70x70 PatchGAN that judges
``(input, output)`` pairs, trained with the adversarial loss plus ``lambda_l1`` times L1 to the
target.

One step, as the reference orders it: the critic's update on ``(a, b)`` against
``(a, G(a))`` (both pairs in one pass), then the generator's update through the frozen critic.
"""

from __future__ import annotations

import torch

from .base import TranslationModel, frozen
from .config import TranslateConfig
from .losses import adv_d, adv_g, l1
from .networks import PatchDiscriminator, UnetGenerator


class Pix2Pix(TranslationModel):
    """``G``: A -> B (U-Net); ``D`` sees A and B stacked as 6 channels."""

    directions = ("a2b",)
    columns = ("input A", "output", "target B")

    def __init__(self, cfg: TranslateConfig) -> None:
        super().__init__(cfg)
        self.G = UnetGenerator(cfg.ngf, cfg.unet_depth, cfg.dropout)
        self.D = PatchDiscriminator(6, cfg.ndf, cfg.d_layers)

    def generator_modules(self) -> list[torch.nn.Module]:
        return [self.G]

    def critic_modules(self) -> list[torch.nn.Module]:
        return [self.D]

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
        c = self.cfg
        n = real_a.shape[0]
        with self.autocast():
            fake_b = self.G(real_a)
            logits = self.D(torch.cat([torch.cat([real_a, real_b], 1), torch.cat([real_a, fake_b.detach()], 1)]))
            loss_d = adv_d(c.gan_loss, logits[:n], logits[n:])
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        with frozen(self.D):
            with self.autocast():
                g_gan = adv_g(c.gan_loss, self.D(torch.cat([real_a, fake_b], 1)))
                g_l1 = c.lambda_l1 * l1(fake_b, real_b)
            self.opt_g.zero_grad(set_to_none=True)
            (g_gan + g_l1).backward()
        self.opt_g.step()
        return {"loss_g": (g_gan + g_l1).item(), "g_gan": g_gan.item(), "g_l1": g_l1.item(), "loss_d": loss_d.item()}

    @torch.no_grad()
    def visuals(self, real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
        return torch.stack([real_a, self.G(real_a), real_b], 1).flatten(0, 1)
