"""CycleGAN (Zhu et al. 2017): two ResNet generators, two PatchGANs (70x70 from 70 px images up,
smaller patches below), least squares, cycle-consistency and identity losses, a history pool of
generated images per critic. The generators get their input at the last layer too
(``cfg.input_skip``, default on): the paper's network cannot see an image's mean colour or
contrast (see :mod:`.networks`), which a colour mapping needs.

One step, as the reference implementation orders it: the generators' update (critics frozen)
on ``adv_g(D_A(G_A(a))) + adv_g(D_B(G_B(b)))`` plus ``lambda_cycle`` times the two cycle L1
terms plus ``lambda_cycle * lambda_identity`` times the two identity L1 terms; then the
critics' update on real images against pooled fakes. Generator calls are batched: ``G_A(a)``,
then ``G_B([b, fake_b, a])`` (fake A, reconstructed A, identity), then ``G_A([fake_a, b])`` —
three calls instead of six, the same arithmetic per image (instance norm is per image), and
each critic sees real and fake in one pass.
"""

from __future__ import annotations

import torch

from .base import TranslationModel, frozen
from .config import TranslateConfig
from .losses import adv_d, adv_g, l1
from .networks import PatchDiscriminator, ResnetGenerator
from .pool import HistoryPool


class CycleGAN(TranslationModel):
    """``G_A``: A -> B, ``G_B``: B -> A; ``D_A`` judges domain B, ``D_B`` domain A (reference naming)."""

    directions = ("a2b", "b2a")
    columns = ("real A", "fake B", "rec A", "real B", "fake A", "rec B")

    def __init__(self, cfg: TranslateConfig) -> None:
        super().__init__(cfg)
        self.G_A = ResnetGenerator(cfg.ngf, cfg.n_blocks, input_skip=cfg.input_skip)
        self.G_B = ResnetGenerator(cfg.ngf, cfg.n_blocks, input_skip=cfg.input_skip)
        self.D_A = PatchDiscriminator(3, cfg.ndf, cfg.d_layers)
        self.D_B = PatchDiscriminator(3, cfg.ndf, cfg.d_layers)
        shape = (3, cfg.size, cfg.size)
        self.pool_A, self.pool_B = HistoryPool(cfg.pool_size, shape), HistoryPool(cfg.pool_size, shape)

    def generator_modules(self) -> list[torch.nn.Module]:
        return [self.G_A, self.G_B]

    def critic_modules(self) -> list[torch.nn.Module]:
        return [self.D_A, self.D_B]

    def forward_all(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        """``fake_b, rec_a, fake_a, rec_b`` and (with identity loss) ``idt_a = G_A(b)``, ``idt_b = G_B(a)``
        (the reference's naming), in three batched generator calls."""
        n, identity = a.shape[0], self.cfg.lambda_identity > 0
        fake_b = self.G_A(a)
        out_b = self.G_B(torch.cat([b, fake_b, a] if identity else [b, fake_b]))
        fake_a, rec_a = out_b[:n], out_b[n : 2 * n]
        out_a = self.G_A(torch.cat([fake_a, b] if identity else [fake_a]))
        res = {"fake_b": fake_b, "rec_a": rec_a, "fake_a": fake_a, "rec_b": out_a[:n]}
        if identity:
            res.update(idt_a=out_a[n:], idt_b=out_b[2 * n :])
        return res

    def generator_loss(self, a: torch.Tensor, b: torch.Tensor, out: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """The generators' objective (see the module docs) and its parts."""
        c, kind = self.cfg, self.cfg.gan_loss
        parts = {
            "g_a": adv_g(kind, self.D_A(out["fake_b"])),
            "g_b": adv_g(kind, self.D_B(out["fake_a"])),
            "cycle_a": c.lambda_cycle * l1(out["rec_a"], a),
            "cycle_b": c.lambda_cycle * l1(out["rec_b"], b),
        }
        if "idt_a" in out:
            parts["idt_a"] = c.lambda_cycle * c.lambda_identity * l1(out["idt_a"], b)
            parts["idt_b"] = c.lambda_cycle * c.lambda_identity * l1(out["idt_b"], a)
        total = sum(parts.values())
        return total, {k: v.item() for k, v in parts.items()}

    def critic_loss(self, D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """``adv_d`` with real and fake through the critic in one pass."""
        logits = D(torch.cat([real, fake]))
        return adv_d(self.cfg.gan_loss, logits[: real.shape[0]], logits[real.shape[0] :])

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
        with self.autocast():
            out = self.forward_all(real_a, real_b)
        with frozen(self.D_A, self.D_B):
            with self.autocast():
                loss_g, logs = self.generator_loss(real_a, real_b, out)
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        self.opt_g.step()
        fake_b = self.pool_A(out["fake_b"].detach().float(), gen)
        fake_a = self.pool_B(out["fake_a"].detach().float(), gen)
        self.opt_d.zero_grad(set_to_none=True)
        with self.autocast():
            d_a = self.critic_loss(self.D_A, real_b, fake_b)
            d_b = self.critic_loss(self.D_B, real_a, fake_a)
        (d_a + d_b).backward()
        self.opt_d.step()
        return {"loss_g": loss_g.item(), **logs, "d_a": d_a.item(), "d_b": d_b.item()}

    @torch.no_grad()
    def visuals(self, real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
        fake_b = self.G_A(real_a)
        fake_a = self.G_B(real_b)
        tiles = [real_a, fake_b, self.G_B(fake_b), real_b, fake_a, self.G_A(fake_a)]
        return torch.stack(tiles, 1).flatten(0, 1)
