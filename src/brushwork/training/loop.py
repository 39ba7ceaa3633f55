"""The loop every trainer shares: steps, stop signals, NaN/inf guard, periodic work,
atomic checkpoints and a progress bar. Trainers supply what one step, the periodic
work and a checkpoint mean for their models; :func:`run_steps` supplies the rest.

A stop (Ctrl-C / SIGTERM, or ``max_steps_this_call`` reached) always writes a checkpoint
of the step reached first, so ``--resume`` continues from exactly there.
"""

from __future__ import annotations

import math
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from . import checkpoint as ckpt
from .distributed import DistInfo, all_ranks_ok
from .guard import check_finite
from .signals import StopRequest

Callback = Callable[[str, dict[str, Any]], None]
"""``callback(event, data)``; events ``"log"``, ``"sample"``, ``"checkpoint"``, ``"warning"``."""


class Interrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C / SIGTERM after writing a checkpoint."""


@dataclass
class LoopResult:
    """Where :func:`run_steps` stopped: step reached, newest checkpoint, last metrics, speed."""

    step: int
    checkpoint: Path | None
    metrics: dict[str, Any] = field(default_factory=dict)
    steps_per_second: float = 0.0


@dataclass
class LoopSpec:
    """What a trainer plugs into :func:`run_steps`.

    Attributes:
        step: performs training step number ``s`` (0-based, the step about to be done) and
            returns its scalar losses.
        save: writes a checkpoint for ``step`` done steps with the given metrics; returns its JSON path.
        periodic: after step ``s`` (1-based count of steps done) and its losses, does the
            interval work (samples, logs, diagnostics) and returns extra metrics; rank 0 only.
        total_steps: train until this many steps are done.
        ckpt_every: checkpoint interval in steps.
        desc: progress-bar label.
    """

    step: Callable[[int], dict[str, float]]
    save: Callable[[int, dict[str, Any]], Path]
    total_steps: int
    ckpt_every: int
    periodic: Callable[[int, dict[str, float]], dict[str, Any]] | None = None
    desc: str = "train"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) global RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_callback(event: str, data: dict[str, Any]) -> None:
    """Without a callback, warnings become Python warnings and other events are dropped."""
    if event == "warning":
        warnings.warn(data["message"], stacklevel=3)


def jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` with NaN / inf floats replaced by None (JSON has no spelling for them)."""
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in d.items()}


def every(step: int, n: int) -> bool:
    """Whether interval work with period ``n`` is due after ``step`` steps (never when ``n`` <= 0)."""
    return n > 0 and step % n == 0


def run_steps(
    spec: LoopSpec,
    *,
    start_step: int,
    last_checkpoint: Path | None,
    run_dir: Path,
    dist: DistInfo | None = None,
    show_progress: bool = False,
    max_steps_this_call: int | None = None,
) -> LoopResult:
    """Run ``spec.step`` from ``start_step`` to ``spec.total_steps``.

    Checkpoints every ``spec.ckpt_every`` steps and once more at the end (or at a stop)
    unless the step reached is already saved. Only rank 0 writes.

    Raises:
        NonFiniteLoss: a loss became NaN / inf on any process (the last good checkpoint is kept).
        Interrupted: Ctrl-C / SIGTERM, after the checkpoint is written.
    """
    dist = dist or DistInfo()
    step, last, metrics = start_step, last_checkpoint, {}
    bar = _progress(show_progress and dist.is_main, start_step, spec.total_steps, spec.desc)
    t0 = time.perf_counter()
    try:
        with StopRequest() as stop:
            while step < spec.total_steps:
                out = spec.step(step)
                step += 1
                _stop_if_not_finite(step, out, dist, last)
                metrics.update(out)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3f}" for k, v in out.items()}, refresh=False)
                if dist.is_main and spec.periodic is not None:
                    metrics.update(spec.periodic(step, out))
                if dist.is_main and every(step, spec.ckpt_every):
                    last = spec.save(step, jsonable(metrics))
                limit = max_steps_this_call is not None and step - start_step >= max_steps_this_call
                if not all_ranks_ok(stop.requested is None and not limit, dist):
                    break
        elapsed = time.perf_counter() - t0
        saved = ckpt.list_checkpoints(run_dir)
        if dist.is_main and (not saved or saved[-1][0] != step):
            last = spec.save(step, jsonable(metrics))
    finally:
        if bar is not None:
            bar.close()
    if stop.requested is not None:
        raise Interrupted(f"{stop.requested}: stopped at step {step}; checkpoint {last}")
    sps = (step - start_step) / elapsed if elapsed > 0 else 0.0
    return LoopResult(step, last, jsonable(metrics), sps)


def _stop_if_not_finite(step: int, out: dict[str, float], dist: DistInfo, last_ckpt: Path | None) -> None:
    """Raise NonFiniteLoss on every process when any process saw a NaN / inf loss."""
    finite = all(math.isfinite(v) for v in out.values())
    if not all_ranks_ok(finite, dist):
        check_finite(step, out if not finite else {"a loss on another process": float("nan")}, str(last_ckpt) if last_ckpt else None)


def _progress(enabled: bool, start: int, total: int, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc=desc, unit="step", dynamic_ncols=True)
