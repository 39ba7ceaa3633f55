"""What a stylisation method of the service is: :class:`Method`, its inputs and progress
callback, and the runner every one-pass method shares."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

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
    ``min_styles`` / ``max_styles``: how many style images it takes; ``options``: the
    form fields it understands (the page shows only those).
    """

    name: str
    title: str
    check: Callable[[dict[str, Any]], dict[str, Any]]
    run: Callable[[JobInputs, Progress], torch.Tensor]
    max_styles: int = 4
    min_styles: int = 1
    options: tuple[str, ...] = COMMON_OPTIONS

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary for ``GET /api/methods``."""
        return {"name": self.name, "title": self.title, "min_styles": self.min_styles, "max_styles": self.max_styles,
                "options": list(self.options)}


def one_pass_runner(load: Callable[[], Any], call: Callable[[Any, torch.Tensor, list[torch.Tensor], dict[str, Any]], torch.Tensor]
                    ) -> Callable[[JobInputs, Progress], torch.Tensor]:
    """The job runner of a one-pass method: ``load()`` the model once per process (on the first job),
    then ``call(model, content, styles, options)`` on the job's decoded images."""
    loaded: list[Any] = []
    lock = threading.Lock()

    def run(inputs: JobInputs, progress: Progress) -> torch.Tensor:
        from ..imageio import load_image

        with lock:
            if not loaded:
                loaded.append(load())
        content = load_image(inputs.content, max_pixels=inputs.max_pixels).rgb
        styles = [load_image(s, max_pixels=inputs.max_pixels).rgb for s in inputs.styles]
        progress(0, 1, None)
        out = call(loaded[0], content, styles, inputs.options)
        progress(1, 1, lambda: out)
        return out

    return run


def ff_options(o: dict[str, Any]):
    """The :class:`~brushwork.style.feedforward.FFOptions` of a job's options."""
    from ..style.feedforward import FFOptions

    return FFOptions(size=o.get("size"), alpha=float(o.get("style_weight", 1.0)), preserve_color=o.get("preserve_color", "none"))
