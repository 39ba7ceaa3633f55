"""The GAN training loop, readable top to bottom: :func:`train`.

One *step* is ``n_critic`` discriminator updates followed by one generator update.
Everything random in a step (noise, class labels, augmentation, penalty mixing) comes from
one explicit generator drawn for the *global* batch and sliced per process, and real data
comes in a seeded per-epoch order addressed by a batch counter. Together with the model,
optimiser, EMA and RNG states in the checkpoint, that makes ``--resume`` continue bitwise
and ``torchrun`` data-parallel training match one process with the same global batch.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..data.datasets import BatchOrder, TensorData, load_digits, load_image_folder, load_mixture, mixture_centers, mixture_std
from ..errors import BrushworkError
from ..imagegrid import save_grid, scatter_image
from ..imageio import save_image
from ..precision import autocast as precision_autocast
from ..precision import fast_bf16
from ..training import checkpoint as ckpt
from ..training.distributed import DistInfo, all_sum, average_gradients
from ..training.ema import EMA
from ..training.loop import Interrupted  # noqa: F401  (re-exported: callers catch it from here)
from ..training.loop import Callback, LoopSpec, default_callback, every, run_steps, seed_everything
from ..training.metrics_log import MetricsLog
from ..training import adversarial as losses
from .ada import AdaptiveAugment
from .augment import diff_augment
from .bounds import check_model_memory, parameter_count
from .config import GANConfig
from .diagnostics import COLLAPSE_THRESHOLD, diversity
from .mixture import EVAL_SAMPLES, mixture_scores
from .models import Discriminator, Generator, build_discriminator, build_generator
from .models.progressive import schedule as growth_schedule
from .regularizers import PathLength, orthogonal_penalty

@dataclass
class GANParts:
    """Everything a step touches. ``gen`` drives all training randomness (see module docs)."""

    G: Generator
    D: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    ema: EMA | None
    gen: torch.Generator
    data: TensorData
    order: BatchOrder
    device: torch.device
    dist: DistInfo
    joint_d: bool  # real and fake through D in one pass (no batch-coupled layers)
    amp: bool = False  # bfloat16 autocast for forward passes (where bf16 is native: CUDA, AMX / AVX-512 BF16 CPUs)
    ada: AdaptiveAugment | None = None  # adaptive augmentation and its probability
    pl: PathLength | None = None  # path-length regulariser and its running mean

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed-precision context for forward passes (a no-op unless ``amp``)."""
        return precision_autocast("bfloat16", self.device) if self.amp else contextlib.nullcontext()


@dataclass
class Position:
    """Where training stands: G updates done and global data batches consumed."""

    step: int = 0
    batches: int = 0


@dataclass
class TrainResult:
    """What :func:`train` returns: the run folder, final step, last checkpoint and last metrics."""

    run_dir: Path
    step: int
    checkpoint: Path | None
    metrics: dict[str, Any] = field(default_factory=dict)
    steps_per_second: float = 0.0
    skipped_images: int = 0


# --------------------------------------------------------------------------- set-up


def load_data(cfg: GANConfig) -> TensorData:
    """The training set named by ``cfg.data`` (images in [0, 1] or 2-D points)."""
    d = cfg.data
    if d.dataset == "digits":
        return load_digits(d.img_size)
    if d.dataset in ("ring", "grid"):
        return load_mixture(d.dataset, d.n_points, cfg.train.seed)
    return load_image_folder(d.path, d.img_size, d.channels)


def expected_shape(cfg: GANConfig) -> tuple[int, ...]:
    """Sample shape the data set will have: ``(2,)`` for mixtures, else ``(C, S, S)``."""
    d = cfg.data
    if d.dataset in ("ring", "grid"):
        return (2,)
    return (1 if d.dataset == "digits" else d.channels, d.img_size, d.img_size)


def preflight(cfg: GANConfig) -> None:
    """Fail fast (BrushworkError) on a missing / empty data source or a size the models cannot
    make, before a run folder is created."""
    from ..data.files import image_refs

    if cfg.data.dataset == "folder":
        image_refs(cfg.data.path)
    if cfg.data.dataset == "digits" and not 8 <= cfg.data.img_size <= 128:
        raise BrushworkError(f"digits: image size must be between 8 and 128 px, not {cfg.data.img_size}")
    shape = expected_shape(cfg)
    with torch.device("meta"):
        G = build_generator(cfg.model, shape, 10)
        D = build_discriminator(cfg.model, shape, 10)
    check_model_memory(cfg, shape, parameter_count(G) + parameter_count(D), training=True)


def build_parts(cfg: GANConfig, data: TensorData, device: torch.device, dist: DistInfo) -> GANParts:
    """Models (same initial weights on every process), optimisers, EMA, RNG and batch order."""
    m, t = cfg.model, cfg.train
    if t.batch_size % (dist.world * m.pack):
        raise BrushworkError(f"train.batch_size {t.batch_size} must split evenly over {dist.world} process(es) in packs of {m.pack}")
    torch.manual_seed(t.seed)
    G = build_generator(m, data.sample_shape, data.num_classes).to(device)
    D = build_discriminator(m, data.sample_shape, data.num_classes).to(device)
    if device.type == "cuda" and len(data.sample_shape) == 3:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    fused = t.fused and (device.type in ("cpu", "cuda"))
    opt_g = torch.optim.Adam(G.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2), eps=t.adam_eps, fused=fused or None)
    opt_d = torch.optim.Adam(D.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2), eps=t.adam_eps, fused=fused or None)
    ema = EMA(G, t.ema_decay, t.ema_start) if t.ema_decay > 0 else None
    gen = torch.Generator().manual_seed(t.seed + 1)
    data.x = G.from_unit(data.x).to(device)
    if data.y is not None:
        data.y = data.y.to(device)
    order = BatchOrder(len(data), t.batch_size, t.seed, rank=dist.rank, world=dist.world)
    coupled = any(isinstance(mod, nn.modules.batchnorm._BatchNorm) or type(mod).__name__ == "MinibatchStd" for mod in D.modules())
    amp = t.amp and fast_bf16(device)
    ada = AdaptiveAugment(t.ada_target, t.ada_interval, t.ada_kimg, t.batch_size) if t.ada_target > 0 else None
    pl = PathLength() if t.pl_weight > 0 else None
    return GANParts(G, D, opt_g, opt_d, ema, gen, data, order, device, dist, joint_d=not coupled, amp=amp, ada=ada, pl=pl)


# --------------------------------------------------------------------------- one step


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


# --------------------------------------------------------------------------- checkpoints


def _state_objects(p: GANParts) -> tuple[dict[str, nn.Module], dict[str, torch.optim.Optimizer], dict[str, torch.Generator]]:
    """The models, optimisers and generators a checkpoint holds, by name."""
    modules: dict[str, nn.Module] = {"G": p.G, "D": p.D}
    if p.ema is not None:
        modules["G_ema"] = p.ema.shadow
    return modules, {"opt_g": p.opt_g, "opt_d": p.opt_d}, {"train": p.gen}


def save(cfg: GANConfig, p: GANParts, pos: Position, run_dir: Path, metrics: dict[str, Any]) -> Path:
    """Write a checkpoint for ``pos`` (rank 0 only writes; callers check)."""
    tensors, state = ckpt.pack_state(*_state_objects(p))
    state.update(
        batches=pos.batches,
        config=cfg.to_dict(),
        sample_shape=list(p.data.sample_shape),
        num_classes=p.data.num_classes if cfg.model.conditional else 0,
        has_ema=p.ema is not None,
        metrics=metrics,
        ada=p.ada.state_dict() if p.ada is not None else None,
        pl_mean=p.pl.mean if p.pl is not None else None,
    )
    return ckpt.save_checkpoint(run_dir, pos.step, tensors, state, keep=cfg.train.keep_checkpoints)


def save_model(cfg: GANConfig, p: GANParts, pos: Position, run_dir: Path, metrics: dict[str, Any]) -> Path:
    """Write the run's model folder ``RUN/model`` (hub kind ``gan-generator``) through the hub:
    the EMA generator when the run keeps one, else G; replaced whole at every checkpoint."""
    from ..models import save_pretrained
    from .sample import MODEL_DIR, LoadedGenerator

    has_ema = p.ema is not None
    G = p.ema.shadow if has_ema else p.G
    gen = LoadedGenerator(G, cfg, pos.step, has_ema, run_dir, tuple(p.data.sample_shape))
    prov = {"how": "trained with brushwork gan train", "source": run_dir.name, "step": pos.step, "ema": has_ema, "metrics": metrics}
    return save_pretrained(gen, run_dir / MODEL_DIR, provenance=prov)


def restore(p: GANParts, json_path: Path) -> Position:
    """Load a checkpoint into ``p``; returns the position it was taken at."""
    state = ckpt.unpack_state(json_path, *_state_objects(p))
    if p.ada is not None and state.get("ada"):
        p.ada.load_state_dict(state["ada"])
    if p.pl is not None and state.get("pl_mean") is not None:
        p.pl.mean = float(state["pl_mean"])
    batches = state.get("batches")
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 0:
        raise BrushworkError(f"{json_path}: corrupted checkpoint state (batches must be a whole number >= 0, not {batches!r:.40})")
    return Position(state["step"], batches)


# --------------------------------------------------------------------------- samples and diagnostics


def sampling_model(p: GANParts) -> Generator:
    """The EMA generator when there is one, else G (callers switch it to eval mode)."""
    return p.ema.shadow if p.ema is not None else p.G  # type: ignore[return-value]


@torch.no_grad()
def generate(G: Generator, z: torch.Tensor, y: torch.Tensor | None, chunk: int = 256) -> torch.Tensor:
    """``G(z, y)`` in eval mode, in chunks, restoring G's train/eval mode afterwards."""
    was = G.training
    G.eval()
    try:
        outs = [G(z[i : i + chunk], None if y is None else y[i : i + chunk]) for i in range(0, z.shape[0], chunk)]
    finally:
        G.train(was)
    return torch.cat(outs)


def fixed_latents(cfg: GANConfig, G: Generator, n: int, device: torch.device, salt: int = 1) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` noise vectors fixed by the seed (and labels cycling over classes), for grids and diagnostics."""
    g = torch.Generator().manual_seed(cfg.train.seed * 7 + 1000 + salt)
    z = torch.randn(n, G.z_dim, generator=g).to(device)
    y = (torch.arange(n) % G.num_classes).to(device) if G.num_classes else None
    return z, y


def write_samples(cfg: GANConfig, p: GANParts, step: int, run_dir: Path) -> Path:
    """Save the fixed-noise sample grid (or a 2-D scatter) for ``step``."""
    G = sampling_model(p)
    path = run_dir / "samples" / f"step-{step:08d}.png"
    if cfg.data.dataset in ("ring", "grid"):
        z, y = fixed_latents(cfg, G, EVAL_SAMPLES, p.device)
        pts = generate(G, z, y).cpu()
        extent = 1.5 if cfg.data.dataset == "ring" else 5.5
        save_image(scatter_image(pts, extent, reference=mixture_centers(cfg.data.dataset)), path)
    else:
        z, y = fixed_latents(cfg, G, 64, p.device)
        save_grid(G.to_unit(generate(G, z, y)).cpu(), path, nrow=8)
    return path


def diagnose(cfg: GANConfig, p: GANParts) -> dict[str, float | int | None]:
    """Mode coverage on mixtures (modes, high-quality fraction, reverse KL), else image diversity."""
    G = sampling_model(p)
    if cfg.data.dataset in ("ring", "grid"):
        z, y = fixed_latents(cfg, G, EVAL_SAMPLES, p.device, salt=2)
        s = mixture_scores(generate(G, z, y), mixture_centers(cfg.data.dataset), mixture_std(cfg.data.dataset))
        return {"modes": s.modes, "high_quality": s.high_quality, "reverse_kl": s.reverse_kl}
    z, y = fixed_latents(cfg, G, 64, p.device, salt=2)
    g = torch.Generator().manual_seed(cfg.train.seed + 3)
    real = p.data.x[torch.randperm(len(p.data), generator=g)[:64].to(p.device)]
    return {"diversity": diversity(generate(G, z, y), real)}


# --------------------------------------------------------------------------- the loop


def train(
    cfg: GANConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    device: str = "cpu",
    dist: DistInfo | None = None,
    show_progress: bool = False,
    callback: Callback | None = None,
    max_steps_this_call: int | None = None,
) -> TrainResult:
    """Train (or resume) the GAN of ``cfg`` in the existing run folder ``run_dir``.

    Args:
        cfg: the resolved configuration (``cfg.train.steps`` is the total number of G steps).
        run_dir: a folder made by :func:`brushwork.training.runs.create_run`.
        resume: continue from the newest checkpoint in ``run_dir``.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        dist: this process's place in data-parallel training (default: one process).
        show_progress: a tqdm bar with the losses on stderr.
        callback: called as ``callback(event, data)`` with events ``"log"``, ``"sample"``,
            ``"checkpoint"``, ``"warning"``.
        max_steps_this_call: stop (with a checkpoint) after this many steps of this call,
            as if interrupted; used by tests and time-boxed benchmarks.

    Raises:
        NonFiniteLoss: a loss became NaN / inf (the last good checkpoint is kept).
        Interrupted: Ctrl-C / SIGTERM (a checkpoint is written first).
    """
    dist = dist or DistInfo()
    run_dir = Path(run_dir)
    dev = torch.device(device)
    emit = callback or default_callback
    if not resume and ckpt.list_checkpoints(run_dir):
        raise BrushworkError(f"{run_dir}: already holds checkpoints; resume it instead of starting over")
    seed_everything(cfg.train.seed)
    data = load_data(cfg)
    p = build_parts(cfg, data, dev, dist)
    last_ckpt = ckpt.resume_checkpoint(run_dir, lambda m: emit("warning", {"message": m})) if resume else None
    pos = restore(p, last_ckpt) if last_ckpt is not None else Position()
    if cfg.train.amp and not p.amp:
        emit("warning", {"message": f"train.amp (bfloat16 autocast) needs native bfloat16 (a CUDA GPU, or a CPU with AMX / AVX-512 BF16), which {dev} lacks; training in float32"})
    fid = _fid_hook(cfg, run_dir, dev) if dist.is_main else None
    log = MetricsLog(run_dir, resume_step=pos.step if resume else None) if dist.is_main else None
    if log is not None and log.note:
        emit("warning", {"message": log.note})

    def step(_: int) -> dict[str, float]:
        out = train_step(cfg, p, pos)
        pos.step += 1
        return out

    def checkpoint(_: int, metrics: dict[str, Any]) -> Path:
        path = save(cfg, p, pos, run_dir, metrics)
        save_model(cfg, p, pos, run_dir, metrics)
        emit("checkpoint", {"path": str(path), "step": pos.step})
        return path

    spec = LoopSpec(
        step=step,
        save=checkpoint,
        periodic=lambda _, out: _periodic(cfg, p, pos, out, run_dir, log, emit, fid),
        total_steps=cfg.train.steps,
        ckpt_every=cfg.train.ckpt_every,
        desc="gan train",
    )
    try:
        done = run_steps(spec, start_step=pos.step, last_checkpoint=last_ckpt, run_dir=run_dir, dist=dist, show_progress=show_progress, max_steps_this_call=max_steps_this_call)
    finally:
        if log is not None:
            log.close()
    return TrainResult(run_dir, done.step, done.checkpoint, done.metrics, done.steps_per_second, data.skipped)


def _fid_hook(cfg: GANConfig, run_dir: Path, device: torch.device):
    if not cfg.train.fid_every:
        return None
    from .fid_hook import FIDHook

    return FIDHook(cfg, run_dir, device)


def _periodic(cfg: GANConfig, p: GANParts, pos: Position, out: dict[str, float], run_dir: Path, log: MetricsLog | None, emit: Callback, fid=None) -> dict[str, Any]:
    """Diagnostics, FID, sample grids and the metric log at their intervals (rank 0)."""
    t, step, extra = cfg.train, pos.step, {}
    if fid is not None and (every(step, t.fid_every) or step == t.steps):
        extra.update(fid(sampling_model(p), step))
    if every(step, t.diag_every) or step == t.steps:
        extra.update(diagnose(cfg, p))
        div = extra.get("diversity")
        if div is not None and div < COLLAPSE_THRESHOLD:
            message = f"step {step}: sample diversity {div:.3f} is below {COLLAPSE_THRESHOLD} of the data's: the generator may be collapsing"
            emit("warning", {"message": message, "step": step})
    if every(step, t.sample_every) or step == t.steps:
        emit("sample", {"path": str(write_samples(cfg, p, step, run_dir)), "step": step})
    if log is not None and (every(step, t.log_every) or extra):
        log.log(step, {**out, **extra, "lr_g": p.opt_g.param_groups[0]["lr"]})
        emit("log", {"step": step, **extra})
    return extra
