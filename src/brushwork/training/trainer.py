"""The run of a single-network trainer (fast, AdaIN, reconstruction decoders, linear transform).

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
from typing import Any, Callable

import torch

from ..errors import BrushworkError
from ..imagegrid import save_grid
from . import checkpoint as ckpt
from .loop import Callback, LoopResult, LoopSpec, every, run_steps
from .metrics_log import MetricsLog


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


def run_training(run_dir: Path, config: dict[str, Any], t: Trainer, sched: Schedule, *, resume: bool, emit: Callback,
                 show_progress: bool = False, max_steps_this_call: int | None = None) -> LoopResult:
    """Run (or resume) ``t`` in ``run_dir`` to ``sched.steps``; ``config`` is stored in every checkpoint."""
    if not resume and ckpt.list_checkpoints(run_dir):
        raise BrushworkError(f"{run_dir}: already holds checkpoints; resume it instead of starting over")
    last = ckpt.resume_checkpoint(run_dir, lambda m: emit("warning", {"message": m})) if resume else None
    restored = ckpt.unpack_state(last, *t.state()) if last is not None else {}
    t.extra.update({k: restored[k] for k in t.extra if k in restored})
    start_step = int(restored.get("step", 0))
    log = MetricsLog(run_dir, resume_step=start_step if resume else None)

    def save(step: int, metrics: dict[str, Any]) -> Path:
        if t.before_save is not None:
            t.before_save()
        tensors, state = ckpt.pack_state(*t.state())
        state.update(config=config, metrics=metrics, **t.extra)
        path = ckpt.save_checkpoint(run_dir, step, tensors, state)
        t.save_model(step, metrics, dict(t.extra))
        emit("checkpoint", {"path": str(path), "step": step})
        return path

    def periodic(step: int, losses: dict[str, float]) -> dict[str, Any]:
        scores: dict[str, float] = {}
        if every(step, sched.sample_every) or step == sched.steps:
            grid, scores = t.preview()
            path = run_dir / "samples" / f"step-{step:08d}.png"
            save_grid(grid.cpu(), path, nrow=t.nrow or max(1, grid.shape[0] // 2))
            emit("sample", {"path": str(path), "step": step, **scores})
        if every(step, sched.log_every) or step == sched.steps:
            log.log(step, {**losses, **scores})
            emit("log", {"step": step, **losses, **scores})
        return scores

    spec = LoopSpec(step=t.step, save=save, periodic=periodic, total_steps=sched.steps, ckpt_every=sched.ckpt_every, desc=t.desc)
    try:
        return run_steps(spec, start_step=start_step, last_checkpoint=last, run_dir=run_dir, show_progress=show_progress,
                         max_steps_this_call=max_steps_this_call)
    finally:
        log.close()
