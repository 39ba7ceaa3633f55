"""Stop a run on a NaN or infinite loss, before it is checkpointed."""

from __future__ import annotations

import math

from ..errors import BrushworkError


class NonFiniteLoss(BrushworkError):
    """A loss became NaN or infinite: training stops, the last good checkpoint is kept."""


def check_finite(step: int, losses: dict[str, float], last_checkpoint: str | None = None) -> None:
    """Raise :class:`NonFiniteLoss` naming the loss and step when any value is NaN or inf."""
    for name, value in losses.items():
        if not math.isfinite(value):
            kept = f"; last good checkpoint: {last_checkpoint}" if last_checkpoint else "; no checkpoint was written yet"
            raise NonFiniteLoss(f"step {step}: {name} is {value}, training stopped (try a lower learning rate){kept}")
