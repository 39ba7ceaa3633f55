"""Hub kind ``gram``: a linear style transform with its decoder (:class:`brushwork.style.linear.LinearStyleNet`)."""

from __future__ import annotations

from typing import Any

from ...errors import BrushworkError
from ..registry import config_instance, register_kind


def _build(config: dict[str, Any], record: dict[str, Any]) -> Any:
    from ...style.linear import LinearConfig, LinearStyleNet

    if not isinstance(record.get("backbone"), str):
        raise BrushworkError("a gram model needs the name of its VGG encoder in \"backbone\"")
    return LinearStyleNet(config_instance(LinearConfig, config, "gram model config"))


register_kind("gram", _build, help="linear style transform (Li et al. 2019) with its relu4_1 decoder; its encoder is the backbone")
