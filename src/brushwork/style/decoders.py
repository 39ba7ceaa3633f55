"""Reconstruction decoders for universal style transfer (Li et al., 2017).

One decoder per VGG level ``relu1_1`` .. ``relu5_1``, each the mirror of the encoder up to its
layer (nearest x2 up-sampling where the encoder pools, reflection padding, ReLU, no
normalisation) and trained only to invert it. All levels of one backbone live in ONE model
folder of the model hub (:mod:`brushwork.models`; ``config.json`` + ``model.safetensors``, tensors
keyed ``<level>.net.<i>.weight``), of kind ``universal``::

    {"brushwork_model": 1, "kind": "universal", "backbone": "vgg16-hed", "dtype": "float16",
     "config": {"arch": "vgg16", "levels": {"relu4_1": {"width": 1.0}, ...}},
     "provenance": {"how": ..., "training": {"relu4_1": {...}, ...}}}

Nothing is ever unpickled. :func:`save_level` merges one trained level into a folder, so the
levels can be trained one after another into the same folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import BrushworkError
from ..models.pretrained import Pretrained
from .adain import _conv
from .fast import run_sequential, weight_precision

LEVELS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
KIND = "universal"
CONFIG = "config.json"
PACKAGED_NAME = "universal-hed"
_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_CHANNELS = (64, 128, 256, 512, 512)


@dataclass(frozen=True)
class LevelConfig:
    """Shape of one decoder: encoder ``arch`` (``vgg16`` / ``vgg19``), the ``layer`` it inverts
    (one of :data:`LEVELS`), ``width``, a multiplier of its hidden channels (1.0 = the encoder's
    own widths; the input and output channels never change), and ``input_scale``, a constant the
    features are multiplied by first (about 1 / their RMS: Caffe-VGG features are large, RMS 14
    to 60, and Adam on unscaled ones can kill every ReLU of a shallow decoder in its first steps)."""

    arch: str = "vgg16"
    layer: str = "relu4_1"
    width: float = 1.0
    input_scale: float = 1.0


def level_index(layer: str) -> int:
    """``relu3_1`` -> 3; BrushworkError for a layer that has no decoder."""
    if layer not in LEVELS:
        raise BrushworkError(f"no reconstruction decoder for layer {layer!r}; use one of {', '.join(LEVELS)}")
    return int(layer[4])


class LevelDecoder(nn.Module):
    """Decoder from ``layer`` features ``(N, C, h, w)`` back to RGB ``(N, 3, h * 2**(k-1), ...)``."""

    kind = KIND

    def __init__(self, config: LevelConfig = LevelConfig()) -> None:
        super().__init__()
        if config.arch not in _BLOCKS:
            raise BrushworkError(f"reconstruction decoder: arch must be vgg16 or vgg19, not {config.arch!r}")
        if not 0 < config.input_scale < 1e4:
            raise BrushworkError(f"reconstruction decoder: input_scale must be positive, not {config.input_scale}")
        if not 0.1 <= config.width <= 2:
            raise BrushworkError(f"reconstruction decoder: width must be between 0.1 and 2, not {config.width}")
        self.config, k = config, level_index(config.layer)
        hidden = [max(8, round(c * config.width)) for c in _CHANNELS]
        layers: list[nn.Module] = []
        cin = _CHANNELS[k - 1]
        for block in range(k - 1, 0, -1):  # mirror of blocks k-1 .. 1 (block k contributes its first conv)
            c = hidden[block - 1]
            layers += [*_conv(cin, c), nn.Upsample(scale_factor=2.0, mode="nearest")]
            layers += [m for _ in range(_BLOCKS[config.arch][block - 1] - 1) for m in _conv(c, c)]
            cin = c
        self.net = nn.Sequential(*layers, *_conv(cin, 3, relu=False))

    @property
    def scale(self) -> int:
        """Output px per feature px (``2 ** (level - 1)``)."""
        return 2 ** (level_index(self.config.layer) - 1)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """Features -> RGB, unclamped. Each up-sampling and the convolution after it run as one
        :func:`~.fast.upsample_conv`; bfloat16 weights run in bfloat16 throughout."""
        weight = self.net[0].weight
        with weight_precision(weight):
            return run_sequential(self.net, feat.to(weight.dtype) * self.config.input_scale)

    def reference(self, feat: torch.Tensor) -> torch.Tensor:
        """The textbook form (up-sample, then convolve) that :meth:`forward` computes."""
        return self.net(feat * self.config.input_scale)


class Decoders(nn.Module, Pretrained):
    """The decoders of one model folder, by level (``decoders["relu4_1"]``)."""

    kind = KIND

    def __init__(self, configs: dict[str, LevelConfig], backbone: str = "vgg16-hed", default_levels: list[str] | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.levels = nn.ModuleDict({name: LevelDecoder(cfg) for name, cfg in sorted(configs.items())})
        unknown = [n for n in default_levels or [] if n not in configs]
        if unknown:
            raise BrushworkError(f"default_levels names level(s) without a decoder: {', '.join(unknown)}")
        self.default_levels = list(default_levels) if default_levels else None

    def __getitem__(self, layer: str) -> LevelDecoder:
        if layer not in self.levels:
            have = ", ".join(self.levels) or "none"
            raise BrushworkError(f"this decoder folder has no {layer} decoder (it has: {have})")
        return self.levels[layer]

    @property
    def config(self) -> dict[str, Any]:
        """``{"arch", "levels": {LAYER: {"width", "input_scale"}}[, "default_levels"]}``: what ``config.json`` stores."""
        first = next(iter(self.levels.values()), None)
        arch = first.config.arch if first is not None else "vgg16"
        out: dict[str, Any] = {"arch": arch, "levels": {n: {"width": self.levels[n].config.width, "input_scale": self.levels[n].config.input_scale} for n in self.layers}}
        if self.default_levels:
            out["default_levels"] = list(self.default_levels)  # the levels --method wct runs unless told
        return out

    @property
    def layers(self) -> list[str]:
        """The levels present, shallowest first."""
        return [n for n in LEVELS if n in self.levels]


def level_configs(config: dict[str, Any]) -> dict[str, LevelConfig]:
    """The :class:`LevelConfig` of each level of a folder's ``config`` (``{"arch", "levels"}``)."""
    levels = config.get("levels")
    if not isinstance(levels, dict) or not levels or not all(isinstance(v, dict) for v in levels.values()):
        raise BrushworkError("a universal decoder config needs \"levels\": {LAYER: {\"width\": ...}, ...}")
    arch = config.get("arch", "vgg16")
    try:
        return {name: LevelConfig(arch=arch, layer=name, **opts) for name, opts in levels.items()}
    except TypeError as exc:
        raise BrushworkError(f"not a decoder configuration ({exc})") from None


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The validated ``config.json`` of a decoder folder (through the model hub); BrushworkError
    when it is not a ``universal`` folder."""
    from .. import models

    d = Path(directory)
    if not d.is_dir():
        raise BrushworkError(f"{d}: no such decoder folder")
    record = models.read_config(d)
    if record["kind"] != KIND:
        raise BrushworkError(f"{d}: is a {record['kind']!r} model, not a {KIND!r} decoder folder")
    return record


def load_decoders(directory: str | os.PathLike, *, backbone: str | None = None, layers: list[str] | None = None, device: str | torch.device = "cpu") -> Decoders:
    """Rebuild the decoders saved in ``directory`` (float32, eval mode) through the model hub.

    Args:
        backbone: refuse the folder unless its decoders invert this backbone.
        layers: refuse the folder unless it has a decoder for each of these levels.
    """
    from .. import models

    d = Path(directory)
    record = read_config(d)
    if backbone is not None and record["backbone"] != backbone:
        raise BrushworkError(f"{d}: these decoders invert backbone {record['backbone']!r}, not {backbone!r}")
    have = record["config"].get("levels") or {}
    missing = [n for n in (layers or []) if n not in have]
    if missing:
        raise BrushworkError(f"{d}: no decoder for level(s) {', '.join(missing)} (it has: {', '.join(have) or 'none'})")
    return models.load(d, kind=KIND, device=device)


def save_level(decoder: LevelDecoder, directory: str | os.PathLike, *, backbone: str, training: dict[str, Any] | None = None, half: bool = True) -> Path:
    """Write (or replace) ``decoder``'s level in the decoder folder ``directory`` (through the hub).

    Levels already there are kept when they invert the same backbone with the same ``arch``;
    BrushworkError otherwise. The provenance keeps a training record per level.
    """
    from .. import models

    d, cfg = Path(directory), decoder.config
    levels: dict[str, LevelDecoder] = {}
    provenance: dict[str, Any] = {"source": "Brushwork", "how": "trained with brushwork style train-decoder", "training": {}}
    if (d / CONFIG).exists():
        old = load_decoders(d)
        if old.backbone != backbone or old.config["arch"] != cfg.arch:
            raise BrushworkError(f"{d}: holds decoders for {old.backbone} ({old.config['arch']}), not {backbone} ({cfg.arch})")
        levels = {n: m for n, m in old.levels.items() if n != cfg.layer}
        provenance = dict(old.provenance or provenance)
    merged = Decoders({**{n: m.config for n, m in levels.items()}, cfg.layer: cfg}, backbone=backbone)
    for name, module in {**levels, cfg.layer: decoder}.items():
        merged.levels[name].load_state_dict(module.state_dict())
    provenance["training"] = {**provenance.get("training", {}), cfg.layer: training or {}}
    return models.save_pretrained(merged, d, provenance=provenance, half=half, backbone=backbone)


def packaged_dir() -> Path:
    """The folder of the decoders shipped with Brushwork (``assets/models/universal-hed``)."""
    return Path(__file__).resolve().parent.parent / "assets" / "models" / PACKAGED_NAME
