"""`brushwork bench translate`: pix2pix and CycleGAN on a synthetic paired task, judged
against the ground truth, with training speed against a plain loop of the same networks."""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

PROTOCOL = """Protocol: domain A = {n_train} random {size} px crops of the training photos (scikit-image's
astronaut, chelsea and rocket, plus the shared content photos except flowers and newyork, each
resized to a short side of 3x the crop size); domain B = the same crops rendered by the task
(default sepia). pix2pix trains on the aligned pairs; CycleGAN on the same two folders
without the pairing (independent draws). Both train --steps generator updates (batch 1,
widths --width, paper losses and schedule; PatchGAN depth for the size, 16 px patches at 32 px;
CycleGAN's generators with the input skip) and translate {n_test} crops of held-out photos
(coffee, flowers, newyork); L1 and PSNR (of the mean squared error over the whole test set,
images in [0, 1]) against the rendered ground truth, next to the identity baseline (B := A).
Speed: Brushwork's training step against a plain loop of the same networks, batch and data
(separate critic passes for real and fake, six separate generator calls in CycleGAN, critics
not frozen during the generator update, per-parameter (non-foreach, non-fused) Adam), timed
alternately, best of two rounds each."""


def psnr_l1(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """PSNR (dB, peak 1, of the mean squared error over all pixels) and mean absolute error."""
    mse = float(((pred - target) ** 2).mean())
    return {"psnr": 10 * math.log10(1 / max(mse, 1e-12)), "l1": float((pred - target).abs().mean())}


# --------------------------------------------------------------------------- the plain reference loop


def _mse_to(x: torch.Tensor, value: float) -> torch.Tensor:
    return F.mse_loss(x, torch.full_like(x, value))


def _bce_to(x: torch.Tensor, value: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, value))


def plain_step(model, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> Callable[[torch.Tensor, torch.Tensor, torch.Generator], dict[str, float]]:
    """The plain training step for ``model``'s own networks (see the protocol), written with
    torch.nn.functional losses, for timing and as an independent check of the objectives."""
    c = model.cfg
    crit = _mse_to if c.gan_loss == "lsgan" else _bce_to

    def cyclegan(a: torch.Tensor, b: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
        m = model
        fake_b, fake_a = m.G_A(a), m.G_B(b)
        rec_a, rec_b = m.G_B(fake_b), m.G_A(fake_a)
        idt_a, idt_b = m.G_A(b), m.G_B(a)
        lam, lid = c.lambda_cycle, c.lambda_cycle * c.lambda_identity
        loss_g = crit(m.D_A(fake_b), 1) + crit(m.D_B(fake_a), 1) + lam * (F.l1_loss(rec_a, a) + F.l1_loss(rec_b, b)) + lid * (F.l1_loss(idt_a, b) + F.l1_loss(idt_b, a))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        pb, pa = m.pool_A(fake_b.detach(), gen), m.pool_B(fake_a.detach(), gen)
        opt_d.zero_grad()
        d_a = 0.5 * (crit(m.D_A(b), 1) + crit(m.D_A(pb), 0))
        d_a.backward()
        d_b = 0.5 * (crit(m.D_B(a), 1) + crit(m.D_B(pa), 0))
        d_b.backward()
        opt_d.step()
        return {"loss_g": loss_g.item(), "d_a": d_a.item(), "d_b": d_b.item()}

    def pix2pix(a: torch.Tensor, b: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
        m = model
        fake_b = m.G(a)
        opt_d.zero_grad()
        loss_d = 0.5 * (crit(m.D(torch.cat([a, fake_b.detach()], 1)), 0) + crit(m.D(torch.cat([a, b], 1)), 1))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = crit(m.D(torch.cat([a, fake_b], 1)), 1) + c.lambda_l1 * F.l1_loss(fake_b, b)
        loss_g.backward()
        opt_g.step()
        return {"loss_g": loss_g.item(), "loss_d": loss_d.item()}

    return cyclegan if c.model == "cyclegan" else pix2pix


def _time_steps(step, data, cfg, steps: int, warmup: int = 3) -> float:
    from ..translate.data import sample_batch

    gen = torch.Generator().manual_seed(cfg.seed + 1)
    for i in range(steps + warmup):
        if i == warmup:
            start = time.perf_counter()
        a, b = sample_batch(data, cfg.size, cfg.batch_size, cfg.flip, gen)
        step(a, b, gen)
    return steps / (time.perf_counter() - start)


def compare_throughput(cfg, data, steps: int, rounds: int = 2) -> tuple[float, float]:
    """``(brushwork, plain)`` training steps per second on fresh models, alternately, best of ``rounds``."""
    from ..translate.base import adam
    from ..translate.train import build_model

    ours = ref = 0.0
    for _ in range(rounds):
        model = build_model(cfg)
        ours = max(ours, _time_steps(model.train_step, data, cfg, steps))
        model = build_model(cfg, fused=False)
        gs = [p for g in model.generator_modules() for p in g.parameters()]
        ds = [p for d in model.critic_modules() for p in d.parameters()]
        ref = max(ref, _time_steps(plain_step(model, adam(gs, cfg, False), adam(ds, cfg, False)), data, cfg, steps))
    return ours, ref


# --------------------------------------------------------------------------- quality after a budget


def train_and_score(model: str, task_data, test: tuple[torch.Tensor, torch.Tensor], opts: dict[str, Any], out: Path, grid_dir: Path | None) -> dict[str, Any]:
    """Train ``model`` on ``task_data`` in ``out/<model>``, translate the test inputs, score them."""
    from ..imagegrid import save_grid
    from ..training.runs import create_run
    from ..translate.apply import load_translator
    from ..translate.config import TranslateConfig
    from ..translate.train import train

    cfg = TranslateConfig(model=model, **opts)
    run = create_run(out, name=model, tag=model, kind="translate", options={"config": cfg.to_dict(), "data": "synthetic"})
    result = train(cfg, task_data, run)
    pred = load_translator(run, "a2b")(test[0])
    if grid_dir is not None:
        k = 8
        save_grid(torch.stack([test[0][:k], pred[:k], test[1][:k]], 1).flatten(0, 1), grid_dir / f"translate-{model}.png", nrow=6)
    return {**psnr_l1(pred, test[1]), "run_steps_per_second": result.steps_per_second, "amp": cfg.amp if cfg.amp != "auto" else ("bf16" if _amp_on(cfg) else "off")}


def _amp_on(cfg) -> bool:
    from ..translate.train import build_model

    return build_model(cfg).amp_dtype is not None


def run_translate(task: str = "sepia", size: int = 32, steps: int = 1500, width: int = 32, n_train: int = 400, n_test: int = 64,
                  ref_steps: int = 20, seed: int = 0, out: Path | None = None, grid_dir: Path | None = None,
                  variant: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole benchmark (see :data:`PROTOCOL`), runs kept in ``out`` (default: a temporary
    folder); returns the JSON object. ``variant``: config overrides for both models
    (``input_skip``, ``d_layers``, ``lambda_identity``) to compare recipes."""
    if out is None:
        with tempfile.TemporaryDirectory() as tmp:
            return run_translate(task, size, steps, width, n_train, n_test, ref_steps, seed, Path(tmp), grid_dir, variant)
    from ..translate.config import TranslateConfig
    from ..translate.data import TranslationData
    from ..translate.synthetic import make_task

    a, b = make_task(task, n_train, size, "train", seed)
    test = make_task(task, n_test, size, "test", seed)
    paired = TranslationData(a, b, paired=True)
    unpaired = TranslationData(a, b[torch.randperm(len(b), generator=torch.Generator().manual_seed(seed))], paired=False)
    opts = {"size": size, "load_size": size, "steps": steps, "ngf": width, "ndf": width, "seed": seed, "ckpt_every": steps, "sample_every": max(1, steps // 4), "log_every": max(1, steps // 20), **(variant or {})}
    recipe = TranslateConfig(model="cyclegan", **opts).to_dict()
    result: dict[str, Any] = {"task": task, "size": size, "steps": steps, "width": width, "recipe": {k: recipe[k] for k in ("input_skip", "d_layers", "lambda_identity")}, "identity": psnr_l1(test[0], test[1])}
    for model, data in (("pix2pix", paired), ("cyclegan", unpaired)):
        result[model] = train_and_score(model, data, test, opts, out, grid_dir)
    ref = {}
    for model, data in (("pix2pix", paired), ("cyclegan", unpaired)):
        cfg = TranslateConfig(model=model, **opts)
        ours, ref[model] = compare_throughput(cfg, data, ref_steps)
        result[model].update(steps_per_second=ours, reference_steps_per_second=ref[model], speedup=ours / ref[model])
    result["reference_steps_per_second"] = ref
    return result
