"""Hub kind ``gan-generator``: a GAN generator, loaded as a :class:`brushwork.gan.sample.LoadedGenerator`.

``config``: ``{"gan": the run's whole GAN config (model, data, train sections), "sample_shape":
[C, H, W] or [2], "num_classes": 0 for unconditional}``; the network is
``build_generator(gan.model, sample_shape, num_classes)``. ``provenance`` keeps ``step`` and
``ema`` (whether these are the EMA weights).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ...errors import BrushworkError
from ..registry import register_kind


def _build(config: dict[str, Any], record: dict[str, Any]) -> Any:
    from ...gan.config import config_from_dict
    from ...gan.models import build_generator
    from ...gan.sample import LoadedGenerator

    cfg = config_from_dict(config.get("gan") or {})
    shape = tuple(int(s) for s in config["sample_shape"])
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise BrushworkError(f"sample_shape must be [C, H, W] or [D], not {list(shape)}")
    num_classes = int(config.get("num_classes", 0))
    prov = record.get("provenance") or {}
    G = build_generator(cfg.model, shape, num_classes)
    return LoadedGenerator(G, cfg, int(prov.get("step", 0)), bool(prov.get("ema", False)), None, shape)


def _config_of(gen: Any) -> dict[str, Any]:
    return {"gan": asdict(gen.config), "sample_shape": list(gen.sample_shape), "num_classes": gen.num_classes}


def _to_device(gen: Any, device: Any) -> Any:
    gen.G.to(device).eval().requires_grad_(False)
    if getattr(gen, "path", None) is not None:
        gen.run_dir = gen.path
    return gen


register_kind("gan-generator", _build, module=lambda g: g.G, config_of=_config_of, to_device=_to_device,
              help="GAN generator (the EMA weights when the run kept them)")
