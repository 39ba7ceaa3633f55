"""Hub kind ``universal``: the reconstruction decoders of universal style transfer (``--method wct``),
every level of one backbone in one folder (:class:`brushwork.style.decoders.Decoders`)."""

from __future__ import annotations

from typing import Any

from ...errors import BrushworkError
from ..registry import register_kind


def _universal(config: dict[str, Any], record: dict[str, Any]) -> Any:
    from ...style.decoders import Decoders, level_configs

    if not isinstance(record.get("backbone"), str):
        raise BrushworkError("universal decoders need the name of the VGG encoder they invert in \"backbone\"")
    return Decoders(level_configs(config), backbone=record["backbone"], default_levels=config.get("default_levels"))


register_kind("universal", _universal, module=lambda m: m.levels, config_of=lambda m: m.config,
              help="reconstruction decoders per VGG level for universal style transfer (--method wct)")
