"""The trainer protocol (:class:`TrainerProtocol`, run by :func:`drive`) and the ready-made run of a
single-network trainer (fast, AdaIN, reconstruction decoders, linear transform).

A trainer supplies a :class:`Trainer`: one optimisation step, the objects whose state makes a
checkpoint (modules, optimisers, generators: the arguments of
:func:`~brushwork.training.checkpoint.pack_state`), how to write the model folder at a checkpoint,
and a preview. :func:`run_training` does the rest the same way for all of them: refuses to start
over a run that has checkpoints, resumes exactly from the newest intact checkpoint (a corrupt
newest one falls back to the older with a warning), writes checkpoints, sample grids and
``metrics.jsonl``, and hands the loop to :func:`~brushwork.training.loop.run_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, runtime_checkable

import torch

from ..errors import BrushworkError
from ..imagegrid import save_grid
from . import checkpoint as ckpt
from .distributed import DistInfo
from .loop import Callback, LoopResult, LoopSpec, every, run_steps
from .metrics_log import MetricsLog


@runtime_checkable
class TrainerProtocol(Protocol):
    """What every trainer is, in the order a run uses it.

    * build: the trainer's constructor (or a ``build`` classmethod) makes the models,
      optimisers, data and RNGs from a validated config.
    * :meth:`restore`: load a checkpoint (its JSON path) and return the step it was taken at.
    * :meth:`begin` / :meth:`close`: open and close what the periodic work writes to (logs),
      ``begin`` told whether the run resumed.
    * :meth:`step`: run optimisation step ``k`` (0-based: the step about to be done); its losses.
    * :meth:`state`: the objects whose state a checkpoint holds (arguments of
      :func:`~brushwork.training.checkpoint.pack_state`).
    * :meth:`save`: write the checkpoint (and model folder) after ``step`` steps; its JSON path.
    * :meth:`periodic`: the interval work after ``step`` steps (samples, diagnostics, the metric
      log); extra metrics. Rank 0 only.

    :func:`drive` runs any of them; :class:`Trainer` + :func:`run_training` is the ready-made
    version for single-network trainers.
    """

    desc: str

    def restore(self, checkpoint: Path) -> int: ...

    def begin(self, resumed: bool) -> None: ...

    def close(self) -> None: ...

    def step(self, k: int) -> dict[str, float]: ...

    def state(self) -> tuple: ...

    def save(self, step: int, metrics: dict[str, Any]) -> Path: ...

    def periodic(self, step: int, losses: dict[str, float]) -> dict[str, Any]: ...


def drive(trainer: TrainerProtocol, run_dir: Path, *, resume: bool, last_checkpoint: Path | None, total_steps: int, ckpt_every: int,
          dist: DistInfo | None = None, show_progress: bool = False, max_steps_this_call: int | None = None) -> LoopResult:
    """Restore ``trainer`` from ``last_checkpoint`` (see :func:`resume_point`; None: a fresh start),
    open its logs (``begin(resume)``) and run it in ``run_dir`` to ``total_steps``; ``close`` afterwards."""
    start = trainer.restore(last_checkpoint) if last_checkpoint is not None else 0
    trainer.begin(resume)
    spec = LoopSpec(step=trainer.step, save=trainer.save, periodic=trainer.periodic, total_steps=total_steps, ckpt_every=ckpt_every, desc=trainer.desc)
    try:
        return run_steps(spec, start_step=start, last_checkpoint=last_checkpoint, run_dir=run_dir, dist=dist, show_progress=show_progress,
                         max_steps_this_call=max_steps_this_call)
    finally:
        trainer.close()


def resume_point(run_dir: Path, resume: bool, emit: Callback) -> Path | None:
    """The checkpoint to resume from (None: a fresh start); refuses to start over a run that has checkpoints."""
    if not resume and ckpt.list_checkpoints(run_dir):
        raise BrushworkError(f"{run_dir}: already holds checkpoints; resume it instead of starting over")
    return ckpt.resume_checkpoint(run_dir, lambda m: emit("warning", {"message": m})) if resume else None


@dataclass
class Trainer:
    """What one trainer supplies.

    Attributes:
        step: ``step(k) -> losses`` runs optimisation step ``k`` (1-based).
        state: the objects whose state a checkpoint holds, as arguments of ``pack_state``.
        save_model: ``save_model(step, metrics, extra)`` writes the model folder at a checkpoint.
        preview: ``preview() -> (images (N, 3, H, W), scores)`` for the sample grid.
        desc: progress-bar label.
        nrow: images per row of the sample grid (``None``: half of them).
        extra: JSON values kept in every checkpoint beside the tensors (restored on resume);
            ``before_save`` may update them first.
        before_save: called before each checkpoint is packed.
    """

    step: Callable[[int], dict[str, float]]
    state: Callable[[], tuple]
    save_model: Callable[[int, dict[str, Any], dict[str, Any]], None]
    preview: Callable[[], tuple[torch.Tensor, dict[str, float]]]
    desc: str
    nrow: int | None = 4
    extra: dict[str, Any] = field(default_factory=dict)
    before_save: Callable[[], None] | None = None


@dataclass(frozen=True)
class Schedule:
    """How long a run is and how often it checkpoints, previews and logs (in steps)."""

    steps: int
    ckpt_every: int
    sample_every: int
    log_every: int


class SingleNetworkRun:
    """A :class:`Trainer` (plus its stored ``config`` and :class:`Schedule`) as a :class:`TrainerProtocol`."""

    def __init__(self, run_dir: Path, config: dict[str, Any], t: Trainer, sched: Schedule, emit: Callback) -> None:
        self.run_dir, self.config, self.t, self.sched, self.emit = run_dir, config, t, sched, emit
        self.desc, self.step, self.state = t.desc, t.step, t.state
        self.start = 0
        self.log: MetricsLog | None = None

    def restore(self, checkpoint: Path) -> int:
        restored = ckpt.unpack_state(checkpoint, *self.t.state())
        self.t.extra.update({k: restored[k] for k in self.t.extra if k in restored})
        self.start = int(restored.get("step", 0))
        return self.start

    def begin(self, resumed: bool) -> None:
        self.log = MetricsLog(self.run_dir, resume_step=self.start if resumed else None)

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

    def save(self, step: int, metrics: dict[str, Any]) -> Path:
        t = self.t
        if t.before_save is not None:
            t.before_save()
        tensors, state = ckpt.pack_state(*t.state())
        state.update(config=self.config, metrics=metrics, **t.extra)
        path = ckpt.save_checkpoint(self.run_dir, step, tensors, state)
        t.save_model(step, metrics, dict(t.extra))
        self.emit("checkpoint", {"path": str(path), "step": step})
        return path

    def periodic(self, step: int, losses: dict[str, float]) -> dict[str, Any]:
        scores: dict[str, float] = {}
        if every(step, self.sched.sample_every) or step == self.sched.steps:
            grid, scores = self.t.preview()
            path = self.run_dir / "samples" / f"step-{step:08d}.png"
            save_grid(grid.cpu(), path, nrow=self.t.nrow or max(1, grid.shape[0] // 2))
            self.emit("sample", {"path": str(path), "step": step, **scores})
        if self.log is not None and (every(step, self.sched.log_every) or step == self.sched.steps):
            self.log.log(step, {**losses, **scores})
            self.emit("log", {"step": step, **losses, **scores})
        return scores


def run_training(run_dir: Path, config: dict[str, Any], t: Trainer, sched: Schedule, *, resume: bool, emit: Callback,
                 show_progress: bool = False, max_steps_this_call: int | None = None) -> LoopResult:
    """Run (or resume) ``t`` in ``run_dir`` to ``sched.steps``; ``config`` is stored in every checkpoint."""
    last = resume_point(run_dir, resume, emit)
    return drive(SingleNetworkRun(run_dir, config, t, sched, emit), run_dir, resume=resume, last_checkpoint=last, total_steps=sched.steps,
                 ckpt_every=sched.ckpt_every, show_progress=show_progress, max_steps_this_call=max_steps_this_call)
