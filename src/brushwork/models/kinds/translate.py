"""Hub kind ``translator``: one direction of an image-to-image translator, loaded as a
:class:`brushwork.translate.apply.Translator`.

One folder per direction: ``config`` is ``{"translate": the TranslateConfig (model, size, ngf,
n_blocks / unet_depth, ...), "direction": "a2b" | "b2a"}``; a CycleGAN run writes
``RUN/model-a2b`` and ``RUN/model-b2a``, a pix2pix run ``RUN/model-a2b``. ``provenance`` keeps ``step``.
Imported generators of another code base's layout also record ``"network"`` (``{"family":
"junyan", ...}``, see :mod:`brushwork.translate.junyan`), which is built instead.
"""

from __future__ import annotations

from typing import Any

import torch

from ..registry import register_kind


def _build(config: dict[str, Any], record: dict[str, Any]) -> Any:
    from ...translate.apply import Translator, generator_for
    from ...translate.config import TranslateConfig

    cfg = TranslateConfig.from_dict(config.get("translate") or {})
    direction = str(config.get("direction", "a2b"))
    if config.get("network") is not None:  # a network of another code base's layout (imported weights)
        from ...translate.junyan import from_network_config

        net = from_network_config(config["network"])
    else:
        net = generator_for(cfg, direction)
    step = int((record.get("provenance") or {}).get("step", 0))
    return Translator(net, cfg, direction, step, net.multiple, torch.device("cpu"))


def _config_of(tr: Any) -> dict[str, Any]:
    from ...translate.junyan import network_config

    network = network_config(tr.net)
    return {"translate": tr.cfg.to_dict(), "direction": tr.direction, **({"network": network} if network else {})}


def _to_device(tr: Any, device: Any) -> Any:
    tr.device = torch.device(device)
    tr.net.to(tr.device).eval().requires_grad_(False)
    return tr


register_kind("translator", _build, module=lambda t: t.net, to_device=_to_device,
              config_of=_config_of,
              help="one direction of a CycleGAN / pix2pix translator")
