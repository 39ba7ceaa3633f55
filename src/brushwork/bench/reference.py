"""A plain GAN training loop, the yardstick for the benchmarks' steps-per-second figures.

It trains the *same* generator and discriminator with the same loss and batch size the way a
first implementation would: separate discriminator passes for real and fake, a fresh
generator pass for the generator step, non-fused per-parameter Adam, random indexing for
batches. It does the same regularisation work as the config asks of Brushwork's step (the
gradient penalty, the R1 penalty every ``r1_every`` D steps, the EMA of G's weights), so the
ratio compares implementations, not amounts of work. Benchmarks time it in the same process,
right next to Brushwork's trainer.
"""

from __future__ import annotations

import time

import torch

from ..training import adversarial as losses
from ..gan.config import GANConfig
from ..gan.models import build_discriminator, build_generator
from ..gan.parts import load_data
from ..training.ema import EMA


def reference_steps_per_second(cfg: GANConfig, steps: int = 200, device: str = "cpu", warmup: int = 5) -> float:
    """Generator steps per second of the plain loop for ``cfg`` (``n_critic`` D steps each)."""
    t, dev = cfg.train, torch.device(device)
    torch.manual_seed(t.seed)
    data = load_data(cfg)
    G = build_generator(cfg.model, data.sample_shape, data.num_classes).to(dev)
    D = build_discriminator(cfg.model, data.sample_shape, data.num_classes).to(dev)
    x = G.from_unit(data.x).to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2), foreach=False)
    opt_d = torch.optim.Adam(D.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2), foreach=False)
    ema = EMA(G, t.ema_decay, t.ema_start) if t.ema_decay > 0 else None
    y, d_steps = None, 0

    def labels() -> torch.Tensor | None:
        return torch.randint(0, G.num_classes, (t.batch_size,), device=dev) if G.num_classes else None

    start = 0.0
    for i in range(steps + warmup):
        if i == warmup:
            start = time.perf_counter()
        for _ in range(t.n_critic):
            real = x[torch.randint(0, len(x), (t.batch_size,))]
            y = labels()
            fake = G(torch.randn(t.batch_size, G.z_dim, device=dev), y).detach()
            opt_d.zero_grad()
            loss = losses.d_loss(t.loss, D(real, y), D(fake, y))
            if t.loss == "wgan-gp":
                loss = loss + t.gp_weight * losses.gradient_penalty(lambda v: D(v, y), real, fake, torch.rand(t.batch_size, device=dev))
            if t.r1_gamma > 0 and d_steps % t.r1_every == 0:
                loss = loss + losses.lazy_r1_weight(t.r1_gamma, t.r1_every) * losses.r1_penalty(lambda v: D(v, y), real)
            d_steps += 1
            loss.backward()
            opt_d.step()
            if t.loss == "wgan":
                losses.clip_weights(D, t.clip)
        opt_g.zero_grad()
        y = labels()
        losses.g_loss(t.loss, D(G(torch.randn(t.batch_size, G.z_dim, device=dev), y), y)).backward()
        opt_g.step()
        if ema is not None:
            ema.update(G, i)
    return steps / (time.perf_counter() - start)


def brushwork_steps_per_second(cfg: GANConfig, steps: int = 200, device: str = "cpu", warmup: int = 5) -> float:
    """Generator steps per second of Brushwork's own step (:func:`brushwork.gan.step.train_step`), no logging."""
    from ..gan.parts import Position, build_parts
    from ..gan.step import train_step
    from ..training.distributed import DistInfo

    torch.manual_seed(cfg.train.seed)
    parts = build_parts(cfg, load_data(cfg), torch.device(device), DistInfo())
    pos = Position()
    for _ in range(warmup):
        train_step(cfg, parts, pos)
    start = time.perf_counter()
    for _ in range(steps):
        train_step(cfg, parts, pos)
    return steps / (time.perf_counter() - start)


def compare_throughput(cfg: GANConfig, steps: int = 200, device: str = "cpu", rounds: int = 2) -> tuple[float, float]:
    """``(brushwork, reference)`` steps per second, measured alternately ``rounds`` times; best of each.

    Alternating and keeping the best run of each makes the ratio robust to other load on
    a shared machine (a slow moment hurts one round, not the comparison).
    """
    ours, ref = 0.0, 0.0
    for _ in range(rounds):
        ours = max(ours, brushwork_steps_per_second(cfg, steps, device))
        ref = max(ref, reference_steps_per_second(cfg, steps, device))
    return ours, ref
