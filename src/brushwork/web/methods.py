"""The stylisation methods the service offers: a small registry, one entry a method.

A method turns the saved inputs of a job into an image. Adding a method (a feed-forward
network, say) is one :class:`Method` in :data:`METHODS`: its name, how it checks the
options a client sent, and how it runs with a progress callback.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable

import torch

from ..errors import BrushworkError

Preview = Callable[[], torch.Tensor]
"""Returns the current image ``(3, H, W)`` in [0, 1]; called only when a preview is shown."""

Progress = Callable[[int, int, "Preview | None"], None]
"""``progress(step, steps, preview)``: called by a method as it works; may raise to cancel."""

COMMON_OPTIONS = ("size", "style_weight", "preserve_color", "seed")
"""Options every method understands (the page's main controls)."""


@dataclass(frozen=True)
class JobInputs:
    """What a method gets: saved image files and the checked options."""

    content: Path
    styles: list[Path]
    options: dict[str, Any]
    max_pixels: int | None


@dataclass(frozen=True)
class Method:
    """A registered stylisation method.

    ``check(options) -> options``: validate and normalise the client's options (raise
    BrushworkError); ``run(inputs, progress) -> (3, H, W)`` image in [0, 1];
    ``max_styles``: how many style images it blends.
    """

    name: str
    title: str
    check: Callable[[dict[str, Any]], dict[str, Any]]
    run: Callable[[JobInputs, Progress], torch.Tensor]
    max_styles: int = 4

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary for ``GET /api/methods``."""
        return {"name": self.name, "title": self.title, "max_styles": self.max_styles}


# --- Gatys (optimisation) -------------------------------------------------------------

_MODEL_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def shared_vgg(name: str = "vgg16-hed"):
    """The backbone ``name`` loaded once per process and shared by all workers (inference only)."""
    from ..backbones.vgg import load_vgg

    with _MODEL_LOCK:
        if name not in _MODELS:
            _MODELS[name] = load_vgg(name, None, pooling="max", device="cpu")
        return _MODELS[name]


def _gatys_check(options: dict[str, Any]) -> dict[str, Any]:
    from ..style.optimize import StyleOptions

    known = {f.name for f in fields(StyleOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise BrushworkError(f"unknown option(s) for gatys: {', '.join(unknown)}")
    try:
        opts = StyleOptions(**{k: v for k, v in options.items() if v is not None})
    except TypeError as exc:
        raise BrushworkError(f"bad options: {exc}") from None
    opts.validate()
    return {k: v for k, v in options.items() if v is not None}


def _gatys_run(inputs: JobInputs, progress: Progress) -> torch.Tensor:
    from ..api import stylize_images
    from ..style.optimize import StyleOptions, StyleProgress

    def callback(p: StyleProgress) -> None:
        progress(p.step, p.steps, p.image)

    opts = StyleOptions(**inputs.options)
    out = stylize_images(inputs.content, inputs.styles, opts, model=shared_vgg(), max_pixels=inputs.max_pixels, callback=callback)
    return out.result.image


GATYS = Method("gatys", "Optimisation (Gatys, multi-scale)", _gatys_check, _gatys_run)

METHODS: dict[str, Method] = {GATYS.name: GATYS}
"""Registered methods by name; the first is the default."""


def get_method(name: str, methods: dict[str, Method] | None = None) -> Method:
    """The method called ``name``; BrushworkError naming the known ones otherwise."""
    table = METHODS if methods is None else methods
    if name not in table:
        raise BrushworkError(f"unknown method {name!r}; known: {', '.join(table)}")
    return table[name]
