"""Hub kinds ``fast`` (per-style feed-forward network) and ``adain`` (AdaIN decoder)."""

from __future__ import annotations

from typing import Any

from ...errors import BrushworkError
from ..registry import config_instance, register_kind


def _fast(config: dict[str, Any], record: dict[str, Any]) -> Any:
    from ...style.fast import FastConfig, TransformerNet

    return TransformerNet(config_instance(FastConfig, config, "fast network config"))


def _adain(config: dict[str, Any], record: dict[str, Any]) -> Any:
    from ...style.adain import AdaINConfig, Decoder

    if not isinstance(record.get("backbone"), str):
        raise BrushworkError("an adain decoder needs the name of its VGG encoder in \"backbone\"")
    return Decoder(config_instance(AdaINConfig, config, "adain decoder config"))


register_kind("fast", _fast, help="per-style feed-forward network (Johnson et al.)")
register_kind("adain", _adain, help="AdaIN decoder for arbitrary styles; its encoder is the backbone")
