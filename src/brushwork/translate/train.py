"""One trainer for CycleGAN and pix2pix (:class:`TranslateTrainer`, on the trainer protocol of :mod:`brushwork.training.trainer`).

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
from ..training.loop import Callback, LoopResult, default_callback, every, seed_everything
from ..training.metrics_log import MetricsLog
from ..training.trainer import drive, resume_point
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


class TranslateTrainer:
    """A CycleGAN / pix2pix run on :class:`~brushwork.training.trainer.TrainerProtocol`."""

    def __init__(self, cfg: TranslateConfig, data: TranslationData, run_dir: Path, device: torch.device, emit: Callback) -> None:
        if cfg.model == "pix2pix" and not data.paired:
            raise BrushworkError("pix2pix needs aligned pairs, not two unpaired folders")
        seed_everything(cfg.seed)
        self.cfg, self.data, self.run_dir, self.device, self.emit = cfg, data, run_dir, device, emit
        self.model = build_model(cfg, device)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.desc = f"{cfg.model} train"
        self.start = 0
        self.log: MetricsLog | None = None

    def restore(self, checkpoint: Path) -> int:
        self.start = int(ckpt.unpack_state(checkpoint, *self.state())["step"])
        return self.start

    def begin(self, resumed: bool) -> None:
        self.log = MetricsLog(self.run_dir, resume_step=self.start if resumed else None)
        if self.log.note:
            self.emit("warning", {"message": self.log.note})

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

    def state(self) -> tuple:
        return _objects(self.model, self.gen)

    def step(self, s: int) -> dict[str, float]:
        self.model.set_lr(s)
        a, b = sample_batch(self.data, self.cfg.size, self.cfg.batch_size, self.cfg.flip, self.gen)
        return self.model.train_step(a.to(self.device), b.to(self.device), self.gen)

    def save(self, s: int, metrics: dict[str, Any]) -> Path:
        path = save(self.model, self.gen, s, self.run_dir, metrics)
        save_model_folders({d: self.model.generator(d) for d in self.model.directions}, self.model.cfg, s, self.run_dir)
        self.emit("checkpoint", {"path": str(path), "step": s})
        return path

    def periodic(self, s: int, out: dict[str, float]) -> dict[str, Any]:
        cfg = self.cfg
        if every(s, cfg.sample_every) or s == cfg.steps:
            self.emit("sample", {"path": str(write_samples(self.model, self.data, s, self.run_dir, self.device)), "step": s})
        if self.log is not None and (every(s, cfg.log_every) or s == cfg.steps):
            self.log.log(s, {**out, "lr": self.model.opt_g.param_groups[0]["lr"]})
            self.emit("log", {"step": s, **out})
        return {}


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
    run_dir, emit = Path(run_dir), callback or default_callback
    last = resume_point(run_dir, resume, emit)
    trainer = TranslateTrainer(cfg, data, run_dir, torch.device(device), emit)
    return drive(trainer, run_dir, resume=resume, last_checkpoint=last, total_steps=cfg.steps, ckpt_every=cfg.ckpt_every,
                 show_progress=show_progress, max_steps_this_call=max_steps_this_call)
