"""Hub kind ``gan-generator``: a GAN generator, loaded as a :class:`brushwork.gan.sample.LoadedGenerator`.

``config``: ``{"gan": the run's whole GAN config (model, data, train sections), "sample_shape":
[C, H, W] or [2], "num_classes": 0 for unconditional}``; the network is
``build_generator(gan.model, sample_shape, num_classes)``. ``provenance`` keeps ``step`` and
``ema`` (whether these are the EMA weights).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..registry import register_kind


def _build(config: dict[str, Any], record: dict[str, Any]) -> Any:
    from ...bounds import check_int
    from ...gan.bounds import build_checked_generator, check_sample_shape
    from ...gan.config import config_from_dict
    from ...gan.sample import LoadedGenerator

    cfg = config_from_dict(config.get("gan") or {})
    shape = check_sample_shape(config.get("sample_shape"), "gan-generator config")
    num_classes = check_int(config.get("num_classes", 0), "gan-generator config: num_classes", 0, 100_000)
    prov = record.get("provenance") or {}
    G = build_checked_generator(cfg, shape, num_classes, "gan-generator config")  # memory checked before building
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
