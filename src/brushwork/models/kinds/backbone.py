"""Hub kind ``backbone``: a VGG feature extractor (config ``{"arch", "pooling", "normalization"}``)."""

from __future__ import annotations

from typing import Any

from ..registry import register_kind


def _build(config: dict[str, Any], record: dict[str, Any]) -> Any:
    from ...backbones.vgg import VGGFeatures

    return VGGFeatures(**config)


register_kind("backbone", _build, config_of=lambda m: dict(m.config), help="VGG16/VGG19 feature extractor (named layers)")
