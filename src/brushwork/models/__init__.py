"""The model hub: one folder format and one loader for every kind of Brushwork model.

A model folder holds two files::

    config.json          {"brushwork_model": 1, "kind": "fast", "config": {...},
                          "backbone": "vgg16-hed" | null, "dtype": "float32" | "float16",
                          "provenance": {"source": ..., "sha256": ..., "licence": ...,
                                         "how": "trained with ..." | "imported from ...", ...}}
    model.safetensors    the weights (never a pickle)

``config`` holds the constructor arguments that rebuild the network, ``backbone`` the VGG
network a model depends on (the loss network of a fast model, the encoder of an AdaIN
decoder; ``null`` for self-contained ones), ``provenance`` where the weights came from.
Folders written before the hub have a ``"training"`` record instead of ``"provenance"``;
they are read as ``provenance = {"how": "trained with Brushwork", "training": {...}}``.

Kinds shipped with the hub (more are added with :func:`register_kind`):

- ``fast``: a per-style feed-forward network (:class:`brushwork.style.fast.TransformerNet`).
- ``adain``: an AdaIN decoder (:class:`brushwork.style.adain.Decoder`); its encoder is the backbone.
- ``gan-generator``: a GAN generator (the EMA weights when the run kept them), loaded as a
  :class:`brushwork.gan.sample.LoadedGenerator`.
- ``translator``: ONE direction of an image-to-image translator (CycleGAN ``a2b`` or ``b2a``,
  pix2pix ``a2b``), loaded as a :class:`brushwork.translate.apply.Translator`. A CycleGAN
  run has one folder per direction (``RUN/model-a2b``, ``RUN/model-b2a``).
- ``backbone``: a VGG feature extractor (:class:`brushwork.backbones.vgg.VGGFeatures`).

Usage::

    import brushwork
    net = brushwork.load("candy")                 # packaged name or folder
    net.save_pretrained("my-candy", half=True)    # every loaded model can save itself
    brushwork.models.read_config("my-candy")["provenance"]

Every object :func:`load` returns has ``kind`` (str), ``config`` (the constructor arguments,
a dataclass or dict), ``backbone`` (str or None), ``provenance`` (dict) and
``save_pretrained(directory, *, provenance=None, half=False)``.

Adding a kind (in any module; put the module under ``brushwork/models/kinds/`` so that the hub
finds it when it meets a folder of that kind without the module having been imported)::

    from brushwork import models

    models.register_kind("magenta", build=lambda config, record: MagentaNet(models.config_instance(MagentaConfig, config)),
                         help="arbitrary-style network (Ghiasi et al.)")

Adding an importer (module under ``brushwork/models/importers/``, found the same way)::

    def import_fast(source: Path, **options) -> tuple[TransformerNet, dict]:
        ...
        return net, {"how": "imported from pytorch/examples fast_neural_style", "licence": "BSD-3-Clause"}

    models.register_importer("pytorch-examples-fast", import_fast, help="pytorch/examples .pth")

Errors are :class:`brushwork.errors.BrushworkError` with one line: an unknown kind or format
version, a config that does not build, weights that do not fit (the first few missing,
unexpected or mis-shaped keys named), a missing or unreadable weights file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from .pretrained import Pretrained
from .registry import (
    CONFIG,
    FORMAT_VERSION,
    WEIGHTS,
    ImporterSpec,
    KindSpec,
    config_instance,
    known_importers,
    known_kinds,
    register_importer,
    register_kind,
)

__all__ = [
    "CONFIG",
    "FORMAT_VERSION",
    "WEIGHTS",
    "ImporterSpec",
    "KindSpec",
    "Pretrained",
    "config_instance",
    "default_model",
    "describe",
    "import_model",
    "known_importers",
    "known_kinds",
    "load",
    "packaged_models",
    "read_config",
    "register_importer",
    "register_kind",
    "resolve",
    "save_pretrained",
    "sha256_file",
]


def save_pretrained(model: Any, directory: str | os.PathLike, *, provenance: dict[str, Any] | None = None,
                    half: bool = False, backbone: str | None = None) -> Path:
    """Write ``model`` as a model folder ``directory`` (``config.json`` + ``model.safetensors``).

    The folder is written as a temporary sibling and renamed into place, so ``directory`` is
    never half-written; an existing ``directory`` is replaced as a whole.

    Args:
        model: an object of a registered kind (its ``kind`` attribute names it).
        provenance: where the weights came from (``source``, ``sha256``, ``licence``, ``how``,
            a training record...); default the model's own ``provenance`` attribute, else ``{}``.
        half: store float tensors as float16 (half the size; loaded back as float32).
        backbone: the backbone to record; default the model's ``backbone`` attribute (None for
            kinds without one).

    Returns:
        ``directory`` as a Path.
    """
    from .folder import save_pretrained as _save

    return _save(model, directory, provenance=provenance, half=half, backbone=backbone)


def load(name_or_path: str | os.PathLike, *, kind: str | None = None, device: str = "cpu") -> Any:
    """Rebuild the model saved in a model folder (or a packaged model named ``name_or_path``).

    Float32, eval mode, gradients off, on ``device``. ``kind`` requires that kind (one-line
    BrushworkError otherwise). The returned object has ``kind``, ``config``, ``backbone``,
    ``provenance`` and ``save_pretrained``; what else it is depends on the kind (see the
    module docs).
    """
    from .folder import load as _load

    return _load(name_or_path, kind=kind, device=device)


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The validated ``config.json`` of a model folder (or packaged name), with ``provenance``
    always present (an old ``training`` record is moved under ``provenance["training"]``).

    Raises BrushworkError (one line) for a missing / unreadable config, an unknown format version,
    an unknown kind, or a config lacking its ``config`` dict.
    """
    from .folder import read_config as _read

    return _read(directory)


def resolve(name_or_path: str | os.PathLike) -> Path:
    """The folder of a model: ``name_or_path`` itself when it exists, else the packaged model
    of that name (BrushworkError listing the packaged names otherwise)."""
    from .folder import resolve as _resolve

    return _resolve(name_or_path)


def packaged_models() -> dict[str, Path]:
    """Name -> folder of every model shipped in ``brushwork/assets/models`` (sorted by name)."""
    from .folder import packaged_models as _packaged

    return _packaged()


def default_model(kind: str) -> Path:
    """The packaged model used for ``kind`` when none is named (``adain`` -> ``adain-light``).

    Raises BrushworkError when no default is packaged for ``kind`` (a fast network has its
    style built in, so it is always named).
    """
    from .folder import default_model as _default

    return _default(kind)


def describe(name_or_path: str | os.PathLike) -> dict[str, Any]:
    """What ``brushwork models info`` shows: ``{"path", "kind", "config", "backbone", "dtype",
    "provenance", "parameters", "bytes"}``, with ``parameters`` the elements of the stored tensors
    (batch-norm running statistics excluded), read from the weights file's header without building
    the model; ``bytes`` the weights file's size."""
    from .folder import describe as _describe

    return _describe(name_or_path)


def import_model(format_name: str, source: str | os.PathLike | None, directory: str | os.PathLike, *,
                 force: bool = False, half: bool = False, **options: Any) -> Path:
    """Convert a foreign weights file into a model folder with the registered importer.

    Refuses an existing ``directory`` unless ``force`` (then replaces it as a whole, never
    leaving it half-written); an unknown ``format_name`` is refused with one line listing the
    known formats. ``source`` ``None``: the importer's default source, where it has one. The provenance records ``source`` (the file name), its ``sha256``, the
    ``licence`` (the importer's, or the one registered with it) and ``how``. Returns ``directory``.
    """
    from .folder import import_model as _import

    return _import(format_name, source, directory, force=force, half=half, **options)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    from .folder import sha256_file as _sha

    return _sha(path)


ImporterFn = Callable[..., tuple[Any, dict[str, Any]]]
