"""One GAN training step: ``n_critic`` discriminator updates, then one generator update.

Everything random (noise, class labels, augmentation, penalty mixing) comes from ``p.gen``, drawn
for the *global* batch and sliced per process, so resumed and data-parallel runs match.
"""

from __future__ import annotations

import contextlib

import torch

from ..training import adversarial as losses
from ..training.distributed import all_sum, average_gradients
from .augment import diff_augment
from .config import GANConfig
from .models.progressive import schedule as growth_schedule
from .parts import GANParts, Position
from .regularizers import orthogonal_penalty


def _slice(x: torch.Tensor, p: GANParts) -> torch.Tensor:
    local = x.shape[0] // p.dist.world
    return x[p.dist.rank * local : (p.dist.rank + 1) * local]


def latents(p: GANParts, batch: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """This process's slice of ``batch`` global noise vectors (and random class labels)."""
    z = _slice(torch.randn(batch, p.G.z_dim, generator=p.gen), p).to(p.device)
    if not p.G.num_classes:
        return z, None
    y = _slice(torch.randint(0, p.G.num_classes, (batch,), generator=p.gen), p).to(p.device)
    return z, y


def real_batch(p: GANParts, pos: Position) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The next real batch (this process's slice); advances ``pos.batches``."""
    idx = p.order(pos.batches).to(p.device)
    pos.batches += 1
    y = p.data.y[idx] if (p.data.y is not None and p.D.num_classes) else None
    return p.data.x[idx], y


def augment(x: torch.Tensor, cfg: GANConfig, p: GANParts) -> torch.Tensor:
    """DiffAugment or ADA with the global batch's randomness (identity without either)."""
    n = x.shape[0]
    if p.ada is not None:
        return p.ada.augment(x, p.gen, global_n=n * p.dist.world, offset=n * p.dist.rank)
    if not cfg.train.augment:
        return x
    return diff_augment(x, cfg.train.augment, p.gen, global_n=n * p.dist.world, offset=n * p.dist.rank)


def make_fakes(cfg: GANConfig, p: GANParts, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """``G(z, y)``; with ``train.style_mixing`` a batch is mixed at a random layer with that
    probability (StyleGAN2's mixing regularisation; the draws come from ``p.gen`` every step)."""
    if not cfg.train.style_mixing:
        return p.G(z, y)
    z2 = _slice(torch.randn(z.shape[0] * p.dist.world, p.G.z_dim, generator=p.gen), p).to(p.device)
    mix = float(torch.rand((), generator=p.gen)) < cfg.train.style_mixing
    cutoff = int(torch.randint(1, p.G.num_ws, (), generator=p.gen))
    return p.G.mix(z, z2, y, cutoff) if mix else p.G(z, y)


def set_growth(cfg: GANConfig, p: GANParts, step: int) -> dict[str, float]:
    """Progressive growing: put G and D at the resolution and fade of ``step`` (a function of the step only)."""
    if not cfg.model.progressive_from:
        return {}
    res, alpha = growth_schedule(step, cfg.model.progressive_from, cfg.data.img_size, cfg.train.grow_every, cfg.train.fade_steps)
    p.G.set_stage(res, alpha)
    p.D.set_stage(res, alpha)
    return {"resolution": float(res), "fade_alpha": alpha}


def discriminate(p: GANParts, real: torch.Tensor, fake: torch.Tensor, y_real: torch.Tensor | None, y_fake: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """D's logits on real and fake: one joint pass unless D has batch-coupled layers."""
    if not p.joint_d:
        return p.D(real, y_real), p.D(fake, y_fake)
    y = None if y_real is None else torch.cat([y_real, y_fake])
    out = p.D(torch.cat([real, fake]), y)
    return out.split(out.shape[0] // 2)


def d_step(cfg: GANConfig, p: GANParts, real: torch.Tensor, y_real: torch.Tensor | None, fake: torch.Tensor, y_fake: torch.Tensor | None, r1_due: bool = True) -> dict[str, float]:
    """One discriminator update on ``real`` and (detached) ``fake``; returns its losses.
    ``r1_due``: whether this is a lazy-R1 step (every ``train.r1_every`` D steps)."""
    t = cfg.train
    p.opt_d.zero_grad(set_to_none=True)
    with p.autocast():
        real_in, fake_in = augment(real, cfg, p), augment(fake.detach(), cfg, p)
        r, f = discriminate(p, real_in, fake_in, y_real, y_fake)
        loss = losses.d_loss(t.loss, r.float(), f.float())
        out = {"loss_d": loss.item()}
        if p.ada is not None:
            p.ada.observe(*all_sum([float(torch.sign(r.detach()).sum()), float(r.numel())], p.dist))
        if t.loss == "wgan-gp":
            alpha = _slice(torch.rand(real.shape[0] * p.dist.world, generator=p.gen), p).to(p.device)
            gp = losses.gradient_penalty(lambda x: p.D(x, y_real).float(), real_in, fake_in, alpha)
            loss = loss + t.gp_weight * gp
            out["gp"] = gp.item()
        if t.r1_gamma > 0 and r1_due:
            r1 = losses.r1_penalty(lambda x: p.D(x, y_real).float(), real_in)
            loss = loss + losses.lazy_r1_weight(t.r1_gamma, t.r1_every) * r1
            out["r1"] = r1.item()
    loss.backward()
    average_gradients(p.D.parameters(), p.dist)
    p.opt_d.step()
    if t.loss == "wgan":
        losses.clip_weights(p.D, t.clip)
    return out


def g_step(cfg: GANConfig, p: GANParts, fake: torch.Tensor, y_fake: torch.Tensor | None, step: int = 0) -> dict[str, float]:
    """One generator update through the (just updated, frozen) discriminator, plus the
    generator regularisers that are on: orthogonal (BigGAN), path length (StyleGAN2, lazy)."""
    t = cfg.train
    p.D.requires_grad_(False)
    with p.autocast():
        loss = losses.g_loss(t.loss, p.D(augment(fake, cfg, p), y_fake).float())
    out = {"loss_g": loss.item()}
    if t.ortho_reg > 0:
        ortho = orthogonal_penalty(p.G)
        loss = loss + t.ortho_reg * ortho
        out["ortho"] = ortho.item()
    if p.pl is not None and step % t.pl_every == 0:
        z, y = latents(p, max(p.dist.world, t.batch_size // 2))
        pl = p.pl.penalty(p.G, z, y, p.gen)
        loss = loss + t.pl_weight * t.pl_every * pl
        out.update(pl=pl.item(), pl_mean=p.pl.mean)
    p.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    p.D.requires_grad_(True)
    average_gradients(p.G.parameters(), p.dist)
    p.opt_g.step()
    return out


def train_step(cfg: GANConfig, p: GANParts, pos: Position) -> dict[str, float]:
    """``n_critic`` D updates, then one G update that reuses the last D step's fakes."""
    t = cfg.train
    set_learning_rates(cfg, p, pos.step)
    growth = set_growth(cfg, p, pos.step)
    out: dict[str, float] = {}
    for i in range(t.n_critic):
        real, y_real = real_batch(p, pos)
        z, y_fake = latents(p, t.batch_size)
        last = i == t.n_critic - 1
        with (contextlib.nullcontext() if last else torch.no_grad()), p.autocast():
            fake = make_fakes(cfg, p, z, y_fake)
        out = d_step(cfg, p, real, y_real, fake, y_fake, r1_due=pos.batches % t.r1_every == 0)
    out.update(g_step(cfg, p, fake, y_fake, pos.step))
    if p.ema is not None:
        p.ema.update(p.G, pos.step)
    if p.ada is not None:
        out.update(ada_p=p.ada.p, ada_rt=p.ada.rt)
    return {**out, **growth}


def set_learning_rates(cfg: GANConfig, p: GANParts, step: int) -> None:
    """Apply the schedule (``none`` or ``linear`` decay to 0 at ``steps``); a function of ``step`` only."""
    t = cfg.train
    scale = 1.0 if t.lr_decay == "none" else max(0.0, 1.0 - step / max(1, t.steps))
    for opt, lr in ((p.opt_g, t.lr_g), (p.opt_d, t.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr * scale
