"""Adaptive discriminator augmentation (ADA, Karras et al. 2020), a compact version.

Every image D sees (real and fake) passes through :meth:`AdaptiveAugment.augment`: each of
the operations below is applied to each image independently with probability ``p``
(differentiably, so G learns through it):

* ``xflip`` (mirror), ``rotate90`` (by 90, 180 or 270 degrees), ``translation`` (integer,
  up to 1/8 of the size, zeros shifted in), ``brightness`` (``+ N(0, 0.2)``),
  ``contrast`` (``x lognormal(0, 0.5 ln 2)``), ``saturation`` (``x lognormal(0, ln 2)``
  around the grey value).

``p`` follows D's overfitting signal ``r_t = E[sign(D(real))]``, accumulated over
``interval`` D steps: above ``target`` it rises, below it falls, by
``batch * interval / (kimg * 1000)`` per adjustment (clamped to [0, 1]). ``p``, the running
sums and the last ``r_t`` are the state a checkpoint must keep (:meth:`state_dict`).
Randomness is drawn for the global batch from an explicit generator and sliced, like
:mod:`brushwork.gan.augment`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .augment import translation


def _draw(gen: torch.Generator, n: int, offset: int, count: int, kind: str = "rand") -> torch.Tensor:
    values = torch.rand(n, generator=gen) if kind == "rand" else torch.randn(n, generator=gen)
    return values[offset : offset + count]


def _select(mask: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    return torch.where(mask.view(-1, 1, 1, 1).to(old.device), new, old)


def xflip(x: torch.Tensor, gen: torch.Generator, n: int, offset: int) -> torch.Tensor:
    """Mirrored left-right."""
    return x.flip(3)


def rotate90(x: torch.Tensor, gen: torch.Generator, n: int, offset: int) -> torch.Tensor:
    """Rotated by a random multiple (1-3) of 90 degrees (square images)."""
    k = (_draw(gen, n, offset, x.shape[0]) * 3).long() + 1
    turns = [torch.rot90(x, int(i), dims=(2, 3)) for i in (1, 2, 3)]
    out = turns[0]
    for i in (2, 3):
        out = _select(k == i, turns[i - 1], out)
    return out


def shift(x: torch.Tensor, gen: torch.Generator, n: int, offset: int) -> torch.Tensor:
    """Integer translation by up to 1/8 of the size (DiffAugment's operation)."""
    return translation(x, gen, n, offset)


def brightness(x: torch.Tensor, gen: torch.Generator, n: int, offset: int) -> torch.Tensor:
    """Plus ``N(0, 0.2)`` per image (data range [-1, 1])."""
    return x + 0.2 * _draw(gen, n, offset, x.shape[0], "randn").to(x).view(-1, 1, 1, 1)


def contrast(x: torch.Tensor, gen: torch.Generator, n: int, offset: int) -> torch.Tensor:
    """Scaled around the image mean by ``exp(N(0, 0.5 ln 2))``."""
    c = torch.exp(_draw(gen, n, offset, x.shape[0], "randn") * 0.5 * math.log(2)).to(x).view(-1, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * c + mean


def saturation(x: torch.Tensor, gen: torch.Generator, n: int, offset: int) -> torch.Tensor:
    """Colour scaled around the per-pixel grey by ``exp(N(0, ln 2))`` (identity on one channel)."""
    s = torch.exp(_draw(gen, n, offset, x.shape[0], "randn") * math.log(2)).to(x).view(-1, 1, 1, 1)
    grey = x.mean(dim=1, keepdim=True)
    return (x - grey) * s + grey


OPS = (("xflip", xflip), ("rotate90", rotate90), ("translation", shift), ("brightness", brightness), ("contrast", contrast), ("saturation", saturation))


class AdaptiveAugment:
    """The augmentation pipeline and its adaptive probability ``p`` (see module docstring)."""

    def __init__(self, target: float = 0.6, interval: int = 4, kimg: float = 20.0, batch_size: int = 64, p: float = 0.0) -> None:
        self.target, self.interval, self.batch_size = target, interval, batch_size
        self.step_size = batch_size * interval / (kimg * 1000)
        self.p, self.signs, self.seen, self.count, self.rt = p, 0.0, 0, 0, 0.0

    def augment(self, x: torch.Tensor, gen: torch.Generator, *, global_n: int | None = None, offset: int = 0) -> torch.Tensor:
        """Augment ``x`` ``(N, C, H, W)``; each operation hits each image with probability ``p``.
        The identity (drawing no randomness) while ``p`` is 0."""
        if self.p <= 0:
            return x
        n = x.shape[0] if global_n is None else global_n
        for _, op in OPS:
            mask = _draw(gen, n, offset, x.shape[0]) < self.p
            x = _select(mask, op(x, gen, n, offset), x)
        return x

    def observe(self, sign_sum: float, n: int) -> None:
        """Add one D step's ``sum(sign(D(real)))`` over ``n`` real logits (the global batch's,
        so every process agrees) to the signal; adjusts ``p`` every ``interval`` calls."""
        self.signs += float(sign_sum)
        self.seen += int(n)
        self.count += 1
        if self.count >= self.interval:
            self.rt = self.signs / max(1, self.seen)
            direction = 1.0 if self.rt > self.target else -1.0
            self.p = min(1.0, max(0.0, self.p + direction * self.step_size))
            self.signs, self.seen, self.count = 0.0, 0, 0

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: ``p``, the running sums and the last ``r_t``."""
        return {"p": self.p, "signs": self.signs, "seen": self.seen, "count": self.count, "rt": self.rt}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.p, self.signs, self.rt = float(state["p"]), float(state["signs"]), float(state["rt"])
        self.seen, self.count = int(state["seen"]), int(state["count"])
