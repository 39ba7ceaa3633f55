"""One trainer for CycleGAN and pix2pix, built on :mod:`brushwork.training.loop`.

A step draws a batch from one explicit generator (which also drives the history pools),
sets the scheduled learning rate and runs the model's :meth:`train_step`. Checkpoints hold
every network, pool, optimiser and RNG state (``pack_state``), so ``resume`` continues
bitwise. Sample grids of fixed images go to ``<run>/samples``; losses to ``metrics.jsonl``
and TensorBoard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import BrushworkError
from ..imagegrid import save_grid
from ..training import checkpoint as ckpt
from ..training.loop import Callback, LoopResult, LoopSpec, default_callback, every, run_steps, seed_everything
from ..training.metrics_log import MetricsLog
from .apply import save_model_folders
from .base import TranslationModel
from .config import TranslateConfig
from .data import TranslationData, fixed_batch, load_paired, load_unpaired, sample_batch

RUN_KIND = "translate"
GRID_EXAMPLES = 4


def build_model(cfg: TranslateConfig, device: str | torch.device = "cpu", *, fused: bool | None = None) -> TranslationModel:
    """A freshly initialised CycleGAN or pix2pix for ``cfg`` on ``device`` (seeded by ``cfg.seed``)."""
    from .cyclegan import CycleGAN
    from .pix2pix import Pix2Pix

    torch.manual_seed(cfg.seed)
    cls = CycleGAN if cfg.model == "cyclegan" else Pix2Pix
    model = cls(cfg).to(device)
    model.use_amp(torch.device(device))
    model.make_optimizers(cfg.fused if fused is None else fused)
    return model


def load_data(cfg: TranslateConfig, a: str, b: str | None) -> TranslationData:
    """The domain folders of a run: unpaired for CycleGAN, aligned pairs for pix2pix
    (``b`` may be omitted for side-by-side images). BrushworkError on empty / unreadable ones."""
    if cfg.model == "pix2pix":
        return load_paired(a, b, cfg.load_size)
    if b is None:
        raise BrushworkError("CycleGAN needs two domain folders: --a and --b")
    return load_unpaired(a, b, cfg.load_size)


def _objects(model: TranslationModel, gen: torch.Generator):
    return dict(model.named_children()), model.optimizers(), {"train": gen}


def save(model: TranslationModel, gen: torch.Generator, step: int, run_dir: Path, metrics: dict[str, Any]) -> Path:
    """Checkpoint ``step``: every network, pool, optimiser and RNG, plus the config."""
    tensors, state = ckpt.pack_state(*_objects(model, gen))
    state.update(config=model.cfg.to_dict(), metrics=metrics)
    return ckpt.save_checkpoint(run_dir, step, tensors, state, keep=model.cfg.keep_checkpoints)


@torch.no_grad()
def write_samples(model: TranslationModel, data: TranslationData, step: int, run_dir: Path, device: torch.device) -> Path:
    """The grid for ``step``: one row per fixed example, columns ``model.columns`` (eval mode)."""
    a, b = fixed_batch(data, model.cfg.size, GRID_EXAMPLES)
    model.eval()
    try:
        tiles = model.visuals(a.to(device), b.to(device))
    finally:
        model.train()
    path = run_dir / "samples" / f"step-{step:08d}.png"
    save_grid((tiles.float().cpu() + 1) / 2, path, nrow=len(model.columns))
    return path


def train(
    cfg: TranslateConfig,
    data: TranslationData,
    run_dir: str | Path,
    *,
    resume: bool = False,
    device: str = "cpu",
    show_progress: bool = False,
    callback: Callback | None = None,
    max_steps_this_call: int | None = None,
) -> LoopResult:
    """Train (or resume) ``cfg.model`` on ``data`` in the existing run folder ``run_dir``;
    returns the step reached, the newest checkpoint, the last losses and the speed.

    Raises:
        BrushworkError: a fresh start in a run that has checkpoints; a checkpoint that does not fit.
        NonFiniteLoss: a loss became NaN / inf (the last good checkpoint is kept).
        Interrupted: Ctrl-C / SIGTERM (a checkpoint is written first).
    """
    run_dir, dev, emit = Path(run_dir), torch.device(device), callback or default_callback
    if not resume and ckpt.list_checkpoints(run_dir):
        raise BrushworkError(f"{run_dir}: already holds checkpoints; resume it instead of starting over")
    if cfg.model == "pix2pix" and not data.paired:
        raise BrushworkError("pix2pix needs aligned pairs, not two unpaired folders")
    seed_everything(cfg.seed)
    model = build_model(cfg, dev)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    last = ckpt.resume_checkpoint(run_dir, lambda m: emit("warning", {"message": m})) if resume else None
    start = int(ckpt.unpack_state(last, *_objects(model, gen))["step"]) if last is not None else 0
    log = MetricsLog(run_dir, resume_step=start if resume else None)
    if log.note:
        emit("warning", {"message": log.note})

    def step(s: int) -> dict[str, float]:
        model.set_lr(s)
        a, b = sample_batch(data, cfg.size, cfg.batch_size, cfg.flip, gen)
        return model.train_step(a.to(dev), b.to(dev), gen)

    def checkpoint(s: int, metrics: dict[str, Any]) -> Path:
        path = save(model, gen, s, run_dir, metrics)
        save_model_folders({d: model.generator(d) for d in model.directions}, model.cfg, s, run_dir)
        emit("checkpoint", {"path": str(path), "step": s})
        return path

    def periodic(s: int, out: dict[str, float]) -> dict[str, Any]:
        if every(s, cfg.sample_every) or s == cfg.steps:
            emit("sample", {"path": str(write_samples(model, data, s, run_dir, dev)), "step": s})
        if every(s, cfg.log_every) or s == cfg.steps:
            log.log(s, {**out, "lr": model.opt_g.param_groups[0]["lr"]})
            emit("log", {"step": s, **out})
        return {}

    spec = LoopSpec(step=step, save=checkpoint, periodic=periodic, total_steps=cfg.steps, ckpt_every=cfg.ckpt_every, desc=f"{cfg.model} train")
    try:
        done = run_steps(spec, start_step=start, last_checkpoint=last, run_dir=run_dir, show_progress=show_progress, max_steps_this_call=max_steps_this_call)
    finally:
        log.close()
    return done
