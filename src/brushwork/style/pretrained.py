"""Names kept for code written before the model hub; everything here is :mod:`brushwork.models`.

There is one loader, :func:`brushwork.models.load` (also ``brushwork.load``); new code imports
from :mod:`brushwork.models` directly. :func:`save_pretrained` here takes the old ``training``
note and records it as ``provenance = {"how": ..., "training": note}``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .. import models as hub
from ..models import CONFIG, WEIGHTS, default_model, packaged_models, read_config
from ..models import FORMAT_VERSION as FORMAT
from ..models import resolve as resolve_model_dir
from ..models.folder import DEFAULT_MODELS, PACKAGED
from .feedforward import check_backbone

__all__ = ["CONFIG", "DEFAULT_MODELS", "FORMAT", "PACKAGED", "WEIGHTS", "check_backbone", "default_model", "from_pretrained",
           "packaged_models", "read_config", "resolve_model_dir", "save_pretrained"]


def save_pretrained(model: Any, directory: str | os.PathLike, *, backbone: str, training: dict[str, Any] | None = None, half: bool = False) -> Path:
    """:func:`brushwork.models.save_pretrained` with the training note under ``provenance["training"]``."""
    kind = getattr(model, "kind", "model")
    prov = {"source": "Brushwork", "how": f"trained with Brushwork ({kind})", "training": training or {}}
    return hub.save_pretrained(model, directory, provenance=prov, half=half, backbone=backbone)


def from_pretrained(directory: str | os.PathLike, *, kind: str | None = None, backbone: str | None = None, device: str | torch.device = "cpu") -> Any:
    """:func:`brushwork.models.load`, refusing a model trained with another ``backbone`` than given."""
    if backbone is not None:
        check_backbone(read_config(directory), backbone, directory)
    return hub.load(directory, kind=kind, device=device)
