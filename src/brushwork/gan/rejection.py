"""Discriminator rejection sampling (DRS; Azadi et al. 2019, "Discriminator Rejection Sampling").

A sampling option, separate from training: draw from the generator as usual, score each
sample with the run's own discriminator, and keep it with probability

    p(x) = sigmoid(F(x) - gamma),   F(x) = D(x) - D_max - log(1 - exp(D(x) - D_max - eps))

where ``D(x)`` is the discriminator's logit, ``D_max`` the largest logit seen (first over a
burn-in batch, then updated as sampling goes on) and ``gamma`` the ``quantile`` of ``F`` over
the burn-in (the paper and its reference code use a high percentile). For an optimal
discriminator ``exp(D(x))`` is ``p_data(x) / p_g(x)``, so accepted samples follow the data
more closely: samples between a mixture's modes, where the data has no mass, are dropped.

The discriminator at the end of training is seldom the optimal one for the final (EMA)
generator; as in the paper, :func:`calibrate` first fine-tunes a copy of it with the logistic
loss on real data against the generator's samples (``calibrate_steps``; 0 keeps it as saved).

A packing discriminator (PacGAN, ``pack`` m > 1) judges m samples at once; a sample's
logit is then the mean over ``partners`` random packs that hold it, each at every position.

Scores of accepted samples are *not* plain samples of the generator: benchmarks report
them separately from plain sampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import BrushworkError
from ..training import checkpoint as ckpt
from .models import Discriminator, build_discriminator
from .sample import LoadedGenerator, generate

DEFAULT_QUANTILE = 0.95
DEFAULT_CALIBRATE_STEPS = 500
BURN_IN = 10_000
EPS = 1e-6


@dataclass
class RejectionResult:
    """``samples``: the accepted samples (as :func:`brushwork.gan.sample.sample` returns them);
    ``acceptance``: accepted / drawn; ``drawn``: samples generated in all (burn-in excluded)."""

    samples: torch.Tensor
    acceptance: float
    drawn: int


def load_discriminator(gen: LoadedGenerator) -> Discriminator:
    """The discriminator saved with ``gen``'s checkpoint, in eval mode on ``gen``'s device."""
    tensors, state = ckpt.load_checkpoint(ckpt.latest_checkpoint(gen.run_dir))
    if int(state.get("step", -1)) != gen.step:
        raise BrushworkError(f"{gen.run_dir}: the newest checkpoint changed while sampling; try again")
    if gen.num_classes:
        raise BrushworkError("rejection sampling supports unconditional generators only")
    D = build_discriminator(gen.config.model, gen.sample_shape, 0)
    try:
        D.load_state_dict(ckpt.unprefixed("D", tensors))
    except RuntimeError as exc:
        raise BrushworkError(f"{gen.run_dir}: discriminator does not fit its config ({str(exc).splitlines()[0]})") from None
    dev = next(gen.G.parameters()).device
    return D.to(dev).eval().requires_grad_(False)


@torch.no_grad()
def sample_logits(D: Discriminator, x: torch.Tensor, generator: torch.Generator, partners: int = 4) -> torch.Tensor:
    """Per-sample discriminator logits ``(N,)`` of samples ``x`` ``(N, ...)`` in D's input range.

    With packing (``D.pack`` m > 1) each sample is judged in ``partners`` packs with m - 1
    other samples of ``x`` drawn at random, once at each position, and the logits averaged.
    """
    m = getattr(D, "pack", 1)
    if m == 1:
        return D(x).float()
    n = x.shape[0]
    total = torch.zeros(n, dtype=torch.float32, device=x.device)
    for _ in range(partners):
        others = [x[torch.randint(0, n, (n,), generator=generator).to(x.device)] for _ in range(m - 1)]
        for slot in range(m):
            group = others[:slot] + [x] + others[slot:]
            total += D(torch.stack(group, dim=1).reshape(n * m, *x.shape[1:])).float()
    return total / (partners * m)


@torch.enable_grad()
def calibrate(D: Discriminator, gen: LoadedGenerator, real: torch.Tensor, steps: int, *, seed: int = 0, batch: int = 100, lr: float | None = None) -> Discriminator:
    """A copy of ``D`` fine-tuned for ``steps`` Adam steps (``lr``: default the run's
    ``train.lr_d``) with the logistic loss on ``real`` samples (in D's input range) against
    fresh samples of ``gen``; ``D`` itself is unchanged."""
    import copy

    import torch.nn.functional as F

    m = getattr(D, "pack", 1)
    batch = max(m, batch - batch % m)
    tuned = copy.deepcopy(D).train().requires_grad_(True)
    opt = torch.optim.Adam(tuned.parameters(), lr=lr or gen.config.train.lr_d, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(seed)
    dev = next(D.parameters()).device
    for _ in range(steps):
        r = real[torch.randint(0, len(real), (batch,), generator=g)].to(dev)
        f = _to_d_input(gen, generate(gen, torch.randn(batch, gen.z_dim, generator=g))).to(dev)
        loss = F.softplus(-tuned(r)).mean() + F.softplus(tuned(f)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return tuned.eval().requires_grad_(False)


def acceptance_logit(logits: torch.Tensor, d_max: float, eps: float = EPS) -> torch.Tensor:
    """DRS's ``F(x) = D(x) - D_max - log(1 - exp(D(x) - D_max - eps))`` (before the ``gamma`` shift)."""
    d = logits.double() - d_max
    return d - torch.log1p(-torch.exp(d - eps))


def _to_d_input(gen: LoadedGenerator, x: torch.Tensor) -> torch.Tensor:
    """Samples as :func:`generate` returns them -> the discriminator's input range."""
    return gen.G.from_unit(x) if gen.is_image else x


@torch.no_grad()
def rejection_sample(gen: LoadedGenerator, n: int, *, seed: int = 0, quantile: float = DEFAULT_QUANTILE, D: Discriminator | None = None, calibrate_steps: int = 0, batch: int = 1000, burn_in: int = BURN_IN, max_draws: int | None = None) -> RejectionResult:
    """``n`` samples kept by discriminator rejection sampling, reproducible from ``seed``.

    Args:
        gen: a loaded generator (:func:`brushwork.gan.sample.load_generator`).
        n: samples to return.
        seed: seeds the noise, the packing partners and the accept draws.
        quantile: ``gamma`` is this quantile of ``F`` over the burn-in (higher keeps fewer).
        D: the discriminator (default: the one saved with ``gen``'s checkpoint).
        calibrate_steps: fine-tune (a copy of) ``D`` this many steps on the run's training
            data first (:func:`calibrate`).
        batch: samples generated per round.
        burn_in: samples drawn first to estimate ``D_max`` and ``gamma``.
        max_draws: give up (BrushworkError) after this many draws (default ``1000 * n``).
    """
    if n <= 0:
        raise BrushworkError(f"-n must be positive, not {n}")
    if not 0.0 <= quantile < 1.0:
        raise BrushworkError(f"rejection quantile must be in [0, 1), not {quantile}")
    if calibrate_steps < 0:
        raise BrushworkError(f"calibration steps must be >= 0, not {calibrate_steps}")
    D = D if D is not None else load_discriminator(gen)
    if calibrate_steps:
        from .parts import load_data

        D = calibrate(D, gen, _to_d_input(gen, load_data(gen.config).x), calibrate_steps, seed=seed)
    g = torch.Generator().manual_seed(seed)
    dev = next(gen.G.parameters()).device

    def draw(k: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = generate(gen, torch.randn(k, gen.z_dim, generator=g))
        return x, sample_logits(D, _to_d_input(gen, x).to(dev), g).cpu()

    _, burn = draw(max(burn_in, 2))
    d_max = float(burn.max())
    gamma = float(torch.quantile(acceptance_logit(burn, d_max), quantile))
    kept: list[torch.Tensor] = []
    have, drawn, limit = 0, 0, max_draws or 1000 * n
    while have < n:
        if drawn >= limit:
            raise BrushworkError(f"rejection sampling accepted {have} of {drawn} samples; lower the quantile")
        x, logits = draw(batch)
        drawn += batch
        d_max = max(d_max, float(logits.max()))
        p = torch.sigmoid(acceptance_logit(logits, d_max) - gamma)
        keep = torch.rand(batch, generator=g, dtype=torch.float64) < p
        kept.append(x[keep])
        have += int(keep.sum())
    return RejectionResult(torch.cat(kept)[:n], have / drawn, drawn)
