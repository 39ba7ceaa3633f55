"""The studio method ``gram``: the learned linear style transform (Li et al., 2019) of the packaged
``gram-hed`` model (1 to 4 styles; ``style_weight`` is the content-style trade-off alpha, 0 to 1;
``seed`` with ``variety`` 0 to 1 gives varied outputs of one pair)."""

from __future__ import annotations

from typing import Any

from ..errors import BrushworkError
from .method_base import COMMON_OPTIONS, Method, one_pass_runner

OPTIONS = COMMON_OPTIONS + ("variety",)


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


def _load() -> Any:
    from ..style.linear_run import GramStylizer

    return GramStylizer()  # the packaged model


_run = one_pass_runner(_load, lambda g, content, styles, o: g(content, styles, _options(o)))


GRAM = Method("gram", "Linear style transform (Gram matrices, any style)", _check, _run, min_styles=1, max_styles=4, options=OPTIONS)
