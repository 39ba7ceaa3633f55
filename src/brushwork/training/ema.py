"""Exponential moving average of a model's weights (e.g. the generator)."""

from __future__ import annotations

import copy

import torch
import torch.nn as nn


class EMA:
    """Keeps ``shadow``, a frozen copy of ``model`` whose parameters follow
    ``shadow = decay * shadow + (1 - decay) * model`` at every :meth:`update`;
    buffers (batch-norm statistics) are copied as they are.

    Before ``start`` updates, :meth:`update` copies the weights (warm-up). ``shadow`` is an
    ordinary module: save it with ``state_dict()`` and restore it with ``load_state_dict``.

    Caveat: with batch norm, the copied running statistics belong to the live weights, not the
    averaged ones; keep ``decay`` short relative to the run (or use a model without BN).
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, start: int = 0) -> None:
        self.decay, self.start = decay, start
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Move the shadow toward ``model``; ``step`` is the number of updates so far."""
        d = 0.0 if step < self.start else self.decay
        for s, p in zip(self.shadow.parameters(), model.parameters()):
            s.lerp_(p.detach(), 1.0 - d)
        for s, b in zip(self.shadow.buffers(), model.buffers()):
            s.copy_(b)
