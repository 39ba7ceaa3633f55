"""A small user-supplied classifier as a dataset-specific feature space.

Inception features say little about, say, 28 px digits or a narrow domain. A
small CNN trained on the user's own labelled data gives a better-suited space:
its penultimate layer (global-average-pooled last convolution) is the feature
vector and its class logits serve the Inception Score.

On disk: ``NAME.safetensors`` (the weights) beside ``NAME.json`` (the
:class:`ClassifierConfig`). Train :class:`SmallClassifier` with any loop (it is a
plain ``nn.Module`` taking ``(N, C, S, S)`` images in [0, 1]) and save it with
:func:`save_classifier`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BrushworkError
from ..fsutil import atomic_path, atomic_write_text

ARCH = "brushwork-small-cnn"


@dataclass(frozen=True)
class ClassifierConfig:
    """Shape of a :class:`SmallClassifier`.

    Attributes:
        num_classes: number of outputs.
        in_channels: 1 (grey; RGB inputs are averaged) or 3.
        channels: output channels of the 3x3 convolutions; each but the last is
            followed by a 2x2 average pool. The feature dimension is ``channels[-1]``.
        image_size: side (px) images are resized to.
    """

    num_classes: int
    in_channels: int = 3
    channels: list[int] = field(default_factory=lambda: [32, 64, 128])
    image_size: int = 32
    arch: str = ARCH


class SmallClassifier(nn.Module):
    """Conv-ReLU(-pool) stack, global average pool (the features), linear head (the logits)."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        convs, c_in = [], config.in_channels
        for c in config.channels:
            convs.append(nn.Conv2d(c_in, c, 3, padding=1))
            c_in = c
        self.convs = nn.ModuleList(convs)
        self.head = nn.Linear(c_in, config.num_classes)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [0, 1] -> ``(N, in_channels, S, S)`` in [-1, 1]."""
        size = self.config.image_size
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        if self.config.in_channels == 1 and x.shape[1] == 3:
            x = x.mean(dim=1, keepdim=True)
        return 2 * x - 1

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``(N, channels[-1])`` of images ``(N, 3, H, W)`` in [0, 1]."""
        h = self.prepare(x)
        for i, conv in enumerate(self.convs):
            h = F.relu(conv(h))
            if i < len(self.convs) - 1:
                h = F.avg_pool2d(h, 2)
        return h.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, num_classes)``."""
        return self.head(self.features(x))


def save_classifier(model: SmallClassifier, path: str | os.PathLike) -> Path:
    """Write ``path`` (``.safetensors``) and its ``.json`` config beside it, atomically."""
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp))
    atomic_write_text(path.with_suffix(".json"), json.dumps(asdict(model.config), indent=2))
    return path


def load_classifier(path: str | os.PathLike) -> SmallClassifier:
    """Read a classifier saved by :func:`save_classifier` (never unpickles).

    Raises:
        BrushworkError: the file or its JSON config is missing or does not fit.
    """
    from ..weights import load_state_dict

    path = Path(path)
    config_path = path.with_suffix(".json")
    if not path.is_file():
        raise BrushworkError(f"{path}: classifier weights not found")
    if not config_path.is_file():
        raise BrushworkError(f"{path}: needs its config {config_path.name} beside it")
    try:
        raw = json.loads(config_path.read_text())
        config = ClassifierConfig(**raw)
    except (ValueError, TypeError) as exc:
        raise BrushworkError(f"{config_path}: not a classifier config ({exc})") from None
    if config.arch != ARCH:
        raise BrushworkError(f"{config_path}: arch {config.arch!r} is not {ARCH!r}")
    model = SmallClassifier(config)
    try:
        model.load_state_dict(load_state_dict(path))
    except RuntimeError as exc:
        raise BrushworkError(f"{path}: weights do not fit its config ({str(exc).splitlines()[0]})") from None
    return model.requires_grad_(False).eval()
