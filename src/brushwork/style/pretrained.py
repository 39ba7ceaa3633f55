"""Feed-forward style models on disk: a folder with ``model.safetensors`` and ``config.json``.

``config.json`` holds ``{"brushwork_model": 1, "kind": "fast" | "adain", "config": {...},
"backbone": NAME, "dtype": ..., "training": {...}}``: the constructor arguments that
rebuild the network, the VGG backbone it was trained with (the loss network of a fast
model, the encoder of an AdaIN decoder), and a note of how it was trained. Nothing is
ever unpickled. Models shipped with Brushwork live under ``brushwork/assets/models/<name>``
and can be named instead of a folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Union

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import BrushworkError
from ..fsutil import atomic_path, atomic_write_text
from .adain import AdaINConfig, Decoder
from .fast import FastConfig, TransformerNet

StyleNet = Union[TransformerNet, Decoder]
WEIGHTS, CONFIG = "model.safetensors", "config.json"
FORMAT = 1
_KINDS = {"fast": (TransformerNet, FastConfig), "adain": (Decoder, AdaINConfig)}
PACKAGED = Path(__file__).resolve().parent.parent / "assets" / "models"
DEFAULT_MODELS = {"adain": "adain-light"}  # kind -> packaged model used when none is named


def packaged_models() -> dict[str, Path]:
    """Name -> folder of every model shipped in the package."""
    if not PACKAGED.is_dir():
        return {}
    return {p.name: p for p in sorted(PACKAGED.iterdir()) if (p / CONFIG).is_file()}


def default_model(kind: str) -> Path:
    """The packaged model that ``--method kind`` uses when no model is named (:data:`DEFAULT_MODELS`).

    Raises:
        BrushworkError: no default is shipped for ``kind`` (a fast network has its style built
            in, so it is always named).
    """
    found = packaged_models().get(DEFAULT_MODELS.get(kind, ""))
    if found is None:
        known = ", ".join(packaged_models()) or "none"
        raise BrushworkError(f"--method {kind} needs --model DIR: no default {kind} model is packaged (packaged models: {known})")
    return found


def resolve_model_dir(name_or_dir: str | os.PathLike) -> Path:
    """A model folder, or the folder of the packaged model of that name."""
    path = Path(name_or_dir)
    if path.exists():
        return path
    found = packaged_models().get(str(name_or_dir))
    if found is None:
        known = ", ".join(packaged_models()) or "none"
        raise BrushworkError(f"{name_or_dir}: no such model folder (packaged models: {known})")
    return found


def save_pretrained(model: StyleNet, directory: str | os.PathLike, *, backbone: str, training: dict[str, Any] | None = None, half: bool = False) -> Path:
    """Write ``model`` (weights, optionally as float16) and its ``config.json`` into ``directory``.

    The weights go first and the config last, each atomically, so a folder with a
    config always has matching weights.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to("cpu", dtype).contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(d / WEIGHTS) as tmp:
        save_file(tensors, str(tmp))
    record = {
        "brushwork_model": FORMAT,
        "kind": model.kind,
        "config": asdict(model.config),
        "backbone": backbone,
        "dtype": str(dtype).replace("torch.", ""),
        "training": training or {},
    }
    atomic_write_text(d / CONFIG, json.dumps(record, indent=2) + "\n")
    return d


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The validated ``config.json`` of a model folder; BrushworkError when it is not a model."""
    d = resolve_model_dir(directory)
    if not d.is_dir():
        raise BrushworkError(f"{d}: not a model folder (expected a folder with {CONFIG} and {WEIGHTS})")
    try:
        record = json.loads((d / CONFIG).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BrushworkError(f"{d}: not a Brushwork model (no {CONFIG})") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise BrushworkError(f"{d / CONFIG}: unreadable model config ({type(exc).__name__})") from None
    if not isinstance(record, dict) or record.get("brushwork_model") != FORMAT or record.get("kind") not in _KINDS:
        raise BrushworkError(f"{d / CONFIG}: not a Brushwork style model config")
    if not isinstance(record.get("config"), dict) or not isinstance(record.get("backbone"), str):
        raise BrushworkError(f"{d / CONFIG}: model config lacks its network settings or backbone")
    return record


def check_backbone(record: dict[str, Any], backbone: str | None, where: str | os.PathLike) -> str:
    """The backbone to use: the model's own, or ``backbone`` if it is the same; BrushworkError otherwise."""
    trained = record["backbone"]
    if backbone is not None and backbone != trained:
        raise BrushworkError(f"{where}: this {record['kind']} model was trained with backbone {trained!r}, not {backbone!r}")
    return trained


def from_pretrained(directory: str | os.PathLike, *, kind: str | None = None, backbone: str | None = None, device: str | torch.device = "cpu") -> StyleNet:
    """Rebuild the network saved in ``directory`` (float32, eval mode).

    Args:
        kind: require ``"fast"`` or ``"adain"``.
        backbone: refuse the model unless it was trained with this backbone.
    """
    d = resolve_model_dir(directory)
    record = read_config(d)
    if kind is not None and record["kind"] != kind:
        raise BrushworkError(f"{d}: is a {record['kind']!r} model, not a {kind!r} model")
    check_backbone(record, backbone, d)
    cls, cfg_cls = _KINDS[record["kind"]]
    try:
        model = cls(cfg_cls(**record["config"]))
    except (TypeError, ValueError) as exc:
        raise BrushworkError(f"{d / CONFIG}: not a {record['kind']} network configuration ({exc})") from None
    try:
        tensors = load_file(str(d / WEIGHTS))
    except FileNotFoundError:
        raise BrushworkError(f"{d}: model weights {WEIGHTS} are missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise BrushworkError(f"{d / WEIGHTS}: unreadable weights ({exc})") from None
    try:
        model.load_state_dict({k: v.float() for k, v in tensors.items()})
    except RuntimeError as exc:
        raise BrushworkError(f"{d / WEIGHTS}: weights do not fit the config ({str(exc).splitlines()[0][:200]})") from None
    return model.to(device).eval().requires_grad_(False)
