"""The studio method ``gram``: the learned linear style transform (Li et al., 2019) of the packaged
``gram-hed`` model (1 to 4 styles; ``style_weight`` is the content-style trade-off alpha, 0 to 1;
``seed`` with ``variety`` 0 to 1 gives varied outputs of one pair)."""

from __future__ import annotations

import threading
from typing import Any

import torch

from ..errors import BrushworkError
from .methods import COMMON_OPTIONS, JobInputs, Method, Progress

OPTIONS = COMMON_OPTIONS + ("variety",)
_LOCK = threading.Lock()
_LOADED: list[Any] = []


def _options(o: dict[str, Any]):
    from ..style.linear_run import GramOptions

    return GramOptions(size=o.get("size"), alpha=float(o.get("style_weight", 1.0)), preserve_color=o.get("preserve_color", "none"),
                       variety=float(o.get("variety", 0.0)), seed=int(o.get("seed", 0) or 0))


def _check(options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise BrushworkError(f"gram takes no {', '.join(unknown)} (one pass, no iterations)")
    weight = float(options.get("style_weight", 1.0))
    if not 0 <= weight <= 1:
        raise BrushworkError(f"style_weight of gram is its alpha, between 0 and 1, not {weight}")
    _options(options).validate()
    return dict(options)


def _run(inputs: JobInputs, progress: Progress) -> torch.Tensor:
    from ..imageio import load_image
    from ..style.linear_run import GramStylizer

    with _LOCK:
        if not _LOADED:
            _LOADED.append(GramStylizer())  # the packaged model, loaded once per process
    content = load_image(inputs.content, max_pixels=inputs.max_pixels).rgb
    styles = [load_image(s, max_pixels=inputs.max_pixels).rgb for s in inputs.styles]
    progress(0, 1, None)
    out = _LOADED[0](content, styles, _options(inputs.options))
    progress(1, 1, lambda: out)
    return out


GRAM = Method("gram", "Linear style transform (Gram matrices, any style)", _check, _run, min_styles=1, max_styles=4, options=OPTIONS)
