"""The studio method ``wct``: universal style transfer on the packaged decoders (1 to 4 styles;
``style_weight`` is the content-style trade-off alpha, 0 to 1)."""

from __future__ import annotations

import threading
from typing import Any

import torch

from ..errors import BrushworkError
from .methods import COMMON_OPTIONS, JobInputs, Method, Progress

_LOCK = threading.Lock()
_LOADED: list[Any] = []


def _check(options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(COMMON_OPTIONS))
    if unknown:
        raise BrushworkError(f"wct takes no {', '.join(unknown)} (one pass, no iterations)")
    weight = float(options.get("style_weight", 1.0))
    if not 0 <= weight <= 1:
        raise BrushworkError(f"style_weight of wct is its alpha, between 0 and 1, not {weight}")
    from ..style.feedforward import FFOptions

    FFOptions(size=options.get("size"), alpha=weight, preserve_color=options.get("preserve_color", "none")).validate()
    return dict(options)


def _run(inputs: JobInputs, progress: Progress) -> torch.Tensor:
    from ..imageio import load_image
    from ..style.feedforward import FFOptions
    from ..style.universal import UniversalStyle

    with _LOCK:
        if not _LOADED:
            _LOADED.append(UniversalStyle())  # the packaged decoders, loaded once per process
    o = inputs.options
    content = load_image(inputs.content, max_pixels=inputs.max_pixels).rgb
    styles = [load_image(s, max_pixels=inputs.max_pixels).rgb for s in inputs.styles]
    progress(0, 1, None)
    out = _LOADED[0](content, styles, FFOptions(size=o.get("size"), alpha=float(o.get("style_weight", 1.0)),
                                                preserve_color=o.get("preserve_color", "none")))
    progress(1, 1, lambda: out)
    return out


WCT = Method("wct", "Universal style transfer (WCT, any style)", _check, _run, min_styles=1, max_styles=4)
