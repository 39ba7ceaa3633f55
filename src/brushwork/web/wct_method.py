"""The studio method ``wct``: universal style transfer on the packaged decoders (1 to 4 styles;
``style_weight`` is the content-style trade-off alpha, 0 to 1)."""

from __future__ import annotations

from typing import Any

from ..errors import BrushworkError
from .method_base import COMMON_OPTIONS, Method, ff_options, one_pass_runner


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


def _load() -> Any:
    from ..style.universal import UniversalStyle

    return UniversalStyle()  # the packaged decoders


_run = one_pass_runner(_load, lambda wct, content, styles, o: wct(content, styles, ff_options(o)))


WCT = Method("wct", "Universal style transfer (WCT, any style)", _check, _run, min_styles=1, max_styles=4)
