"""Kinds and importers of the model hub (see :mod:`brushwork.models`).

A kind says how to rebuild a model from its ``config.json`` and where its tensors live; an
importer turns a foreign weights file into a model of some kind. Both are registered by
name. Modules under ``brushwork/models/kinds/`` and ``brushwork/models/importers/`` are
imported on the first lookup that misses (those whose name starts with ``_`` are helpers and
left alone), so a kind or format registered there is always found.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import BrushworkError

FORMAT_VERSION = 1
WEIGHTS, CONFIG = "model.safetensors", "config.json"


def _self(model: Any) -> Any:
    return model


def _dataclass_or_dict(model: Any) -> dict[str, Any]:
    cfg = model.config
    if dataclasses.is_dataclass(cfg):
        return dataclasses.asdict(cfg)
    return dict(cfg)


@dataclass(frozen=True)
class KindSpec:
    """How the hub saves and rebuilds one kind of model.

    Attributes:
        kind: its name in ``config.json``.
        build: ``build(config, record) -> model``: a fresh float32 CPU model from the constructor
            arguments ``config`` (a dict) and the whole ``config.json`` ``record`` (for its
            ``backbone`` and ``provenance``). TypeError / ValueError become a one-line
            BrushworkError; use :func:`config_instance` to build and validate a config dataclass.
        module: ``module(model) -> torch.nn.Module`` whose ``state_dict`` is saved and loaded
            (default: the model itself).
        config_of: ``config_of(model) -> dict`` of constructor arguments to save (default:
            ``dataclasses.asdict(model.config)``, or ``dict(model.config)``).
        to_device: ``to_device(model, device) -> model`` after the weights are in (default:
            ``module(model).to(device).eval().requires_grad_(False)``, returning the model).
        help: one line for ``brushwork models list``.
    """

    kind: str
    build: Callable[[dict[str, Any], dict[str, Any]], Any]
    module: Callable[[Any], Any] = _self
    config_of: Callable[[Any], dict[str, Any]] = _dataclass_or_dict
    to_device: Callable[[Any, Any], Any] | None = None
    help: str = ""


@dataclass(frozen=True)
class ImporterSpec:
    """A registered importer: ``fn(source: Path, **options) -> (model, provenance dict)``."""

    name: str
    fn: Callable[..., tuple[Any, dict[str, Any]]]
    help: str = ""
    licence: str | None = None
    default_source: Callable[[], Path] | None = None


_KINDS: dict[str, KindSpec] = {}
_IMPORTERS: dict[str, ImporterSpec] = {}
_SCANNED: set[str] = set()


def register_kind(kind: str, build: Callable[[dict[str, Any], dict[str, Any]], Any], *,
                  module: Callable[[Any], Any] | None = None, config_of: Callable[[Any], dict[str, Any]] | None = None,
                  to_device: Callable[[Any, Any], Any] | None = None, help: str = "") -> KindSpec:
    """Register (or replace) the kind ``kind``; see :class:`KindSpec` for the arguments.

    The models that ``build`` returns should have ``kind`` and ``config`` attributes and
    inherit :class:`~brushwork.models.pretrained.Pretrained` (the hub adds ``save_pretrained`` to those that do not).
    Returns the spec.
    """
    spec = KindSpec(kind, build, module or _self, config_of or _dataclass_or_dict, to_device, help)
    _KINDS[kind] = spec
    return spec


def register_importer(format_name: str, fn: Callable[..., tuple[Any, dict[str, Any]]], *, help: str = "",
                      licence: str | None = None, default_source: Callable[[], Path] | None = None) -> ImporterSpec:
    """Register (or replace) the importer for ``format_name`` (``brushwork models import FORMAT``).

    ``fn(source: Path, **options) -> (model, provenance)``: ``model`` of a registered kind and a
    provenance dict (``how``, ``licence``, anything else worth keeping; the hub adds ``source``
    and ``sha256``). Raise BrushworkError for a file that is not of the format. ``licence``:
    the licence of the weights this format usually carries, used when ``fn`` names none.
    ``default_source``: where the source is found when none is given (an installed package's
    files, say); it raises BrushworkError when it cannot be had.
    """
    spec = ImporterSpec(format_name, fn, help, licence, default_source)
    _IMPORTERS[format_name] = spec
    return spec


def _scan(package: str) -> None:
    """Import every module of ``brushwork.models.<package>`` once (they register themselves)."""
    if package in _SCANNED:
        return
    _SCANNED.add(package)
    pkg = importlib.import_module(f"{__package__}.{package}")
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):  # helpers, not registrations
            importlib.import_module(f"{pkg.__name__}.{info.name}")


def known_kinds() -> dict[str, KindSpec]:
    """Every registered kind, by name (after importing ``brushwork/models/kinds/*``)."""
    _scan("kinds")
    return dict(sorted(_KINDS.items()))


def kind_spec(kind: str, where: str | Path) -> KindSpec:
    """The spec of ``kind``; one-line BrushworkError naming the known kinds otherwise."""
    if kind not in _KINDS:
        _scan("kinds")
    if kind not in _KINDS:
        raise BrushworkError(f"{where}: unknown model kind {kind!r} (known kinds: {', '.join(sorted(_KINDS))})")
    return _KINDS[kind]


def known_importers() -> dict[str, ImporterSpec]:
    """Every registered importer, by format name (after importing ``brushwork/models/importers/*``)."""
    _scan("importers")
    return dict(sorted(_IMPORTERS.items()))


def config_instance(cls: type, values: dict[str, Any], where: str | Path = "model config") -> Any:
    """``cls(**values)``, then its ``validate()`` when it has one (bounds, memory estimates).

    TypeError / ValueError (unknown or missing fields, bad values) become a one-line
    BrushworkError naming ``where``; BrushworkError passes through.
    """
    if not isinstance(values, dict):
        raise BrushworkError(f"{where}: the network settings must be a JSON object, not {type(values).__name__}")
    try:
        cfg = cls(**values)
        check = getattr(cfg, "validate", None)
        if callable(check):
            result = check()
            cfg = result if isinstance(result, cls) else cfg
    except (TypeError, ValueError) as exc:
        raise BrushworkError(f"{where}: not a valid {cls.__name__} ({str(exc).splitlines()[0][:200]})") from None
    return cfg
