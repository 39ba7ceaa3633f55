"""The GAN training run: :func:`train` (the trainer itself is :class:`~.trainer.GANTrainer`).

One *step* is ``n_critic`` discriminator updates followed by one generator update
(:mod:`.step`). Everything random in a step (noise, class labels, augmentation, penalty mixing)
comes from one explicit generator drawn for the *global* batch and sliced per process, and real
data comes in a seeded per-epoch order addressed by a batch counter. Together with the model,
optimiser, EMA and RNG states in the checkpoint (:mod:`.checkpoints`), that makes ``--resume``
continue bitwise and ``torchrun`` data-parallel training match one process with the same global batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..training.distributed import DistInfo
from ..training.loop import Callback, Interrupted, default_callback
from ..training.trainer import drive, resume_point
from .config import GANConfig
from .trainer import GANTrainer

__all__ = ["train", "TrainResult", "Interrupted"]


@dataclass
class TrainResult:
    """What :func:`train` returns: the run folder, final step, last checkpoint and last metrics."""

    run_dir: Path
    step: int
    checkpoint: Path | None
    metrics: dict[str, Any] = field(default_factory=dict)
    steps_per_second: float = 0.0
    skipped_images: int = 0


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
    emit = callback or default_callback
    last = resume_point(run_dir, resume, emit)  # refuses a fresh start over checkpoints before anything is built
    trainer = GANTrainer(cfg, run_dir, torch.device(device), dist, emit)
    done = drive(trainer, run_dir, resume=resume, last_checkpoint=last, total_steps=cfg.train.steps, ckpt_every=cfg.train.ckpt_every,
                 dist=dist, show_progress=show_progress, max_steps_this_call=max_steps_this_call)
    return TrainResult(run_dir, done.step, done.checkpoint, done.metrics, done.steps_per_second, trainer.data.skipped)
