"""Model folders on disk: writing them whole, reading and checking them, rebuilding models.

See :mod:`brushwork.models` for the format. Nothing is ever unpickled.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from ..errors import BrushworkError
from ..fsutil import OutputError, atomic_path, atomic_write_text, describe_os_error
from .registry import CONFIG, FORMAT_VERSION, WEIGHTS, kind_spec, known_importers

PACKAGED = Path(__file__).resolve().parent.parent / "assets" / "models"
DEFAULT_MODELS = {"adain": "adain-light", "gram": "gram-hed"}  # kind -> packaged model used when none is named
_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def packaged_models() -> dict[str, Path]:
    """Name -> folder of every model shipped in the package."""
    if not PACKAGED.is_dir():
        return {}
    return {p.name: p for p in sorted(PACKAGED.iterdir()) if (p / CONFIG).is_file()}


def default_model(kind: str) -> Path:
    """The packaged model of :data:`DEFAULT_MODELS` for ``kind``; BrushworkError when there is none."""
    found = packaged_models().get(DEFAULT_MODELS.get(kind, ""))
    if found is None:
        known = ", ".join(packaged_models()) or "none"
        raise BrushworkError(f"--method {kind} needs --model DIR: no default {kind} model is packaged (packaged models: {known})")
    return found


def resolve(name_or_path: str | os.PathLike) -> Path:
    """``name_or_path`` when it exists, else the packaged model of that name."""
    path = Path(name_or_path)
    if path.exists():
        return path
    found = packaged_models().get(str(name_or_path))
    if found is None:
        known = ", ".join(packaged_models()) or "none"
        raise BrushworkError(f"{name_or_path}: no such model folder (packaged models: {known})")
    return found


def _migrate(record: dict[str, Any]) -> dict[str, Any]:
    """A record written before the hub: its ``training`` note moved under ``provenance``."""
    record = dict(record)
    if "provenance" not in record and "training" in record:
        record["provenance"] = {"how": "trained with Brushwork", "training": record.pop("training")}
    record.setdefault("provenance", {})
    return record


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The checked ``config.json`` of a model folder (see :func:`brushwork.models.read_config`)."""
    d = resolve(directory)
    where = d / CONFIG
    if not d.is_dir():
        raise BrushworkError(f"{d}: not a model folder (expected a folder with {CONFIG} and {WEIGHTS})")
    try:
        record = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        inside = sorted(c.parent.name for c in d.glob(f"model*/{CONFIG}"))  # a run folder
        hint = f"; its model folders: {', '.join(str(d / n) for n in inside)}" if inside else ""
        raise BrushworkError(f"{d}: not a Brushwork model folder (no {CONFIG}){hint}") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise BrushworkError(f"{where}: unreadable model config ({type(exc).__name__})") from None
    if not isinstance(record, dict) or "brushwork_model" not in record:
        raise BrushworkError(f"{where}: not a Brushwork model config (no brushwork_model format version)")
    if record["brushwork_model"] != FORMAT_VERSION:
        raise BrushworkError(f"{where}: unsupported model format version {record['brushwork_model']!r} (this Brushwork reads version {FORMAT_VERSION})")
    kind_spec(str(record.get("kind")), where)
    if not isinstance(record.get("config"), dict):
        raise BrushworkError(f"{where}: model config lacks its network settings (\"config\" must be an object)")
    if record.get("backbone") is not None and not isinstance(record["backbone"], str):
        raise BrushworkError(f"{where}: \"backbone\" must be a name or null")
    record = _migrate(record)
    if not isinstance(record["provenance"], dict):
        raise BrushworkError(f"{where}: \"provenance\" must be an object")
    return record


def _holds_more(directory: Path) -> bool:
    """Whether ``directory`` holds anything besides a model's two files (a training run's
    ``OUT/run``, say), which replacing the folder as a whole would lose."""
    return any(p.name not in (CONFIG, WEIGHTS) for p in directory.iterdir())


@contextmanager
def _new_folder(directory: Path) -> Iterator[Path]:
    """A temporary sibling of ``directory`` that replaces it on success and vanishes on failure.

    When ``directory`` holds other things as well, only its two model files are replaced (each
    by a rename, weights first), so the folder always holds a complete model.
    """
    if directory.exists() and not directory.is_dir():
        raise BrushworkError(f"{directory}: exists and is not a folder")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if directory.is_dir() and _holds_more(directory):
            for name in (WEIGHTS, CONFIG):
                os.replace(tmp / name, directory / name)
            return
        old = None
        if directory.exists():
            old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(directory, old)
        os.replace(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _record(model: Any, spec: Any, *, provenance: dict[str, Any] | None, half: bool, backbone: str | None) -> dict[str, Any]:
    prov = provenance if provenance is not None else getattr(model, "provenance", None)
    return {
        "brushwork_model": FORMAT_VERSION,
        "kind": spec.kind,
        "config": spec.config_of(model),
        "backbone": backbone if backbone is not None else getattr(model, "backbone", None),
        "dtype": "float16" if half else "float32",
        "provenance": dict(prov or {}),
    }


def _write(model: Any, folder: Path, *, provenance: dict[str, Any] | None, half: bool, backbone: str | None) -> None:
    kind = getattr(model, "kind", None)
    if not isinstance(kind, str):
        raise BrushworkError(f"cannot save a {type(model).__name__}: it has no model kind")
    spec = kind_spec(kind, type(model).__name__)
    record = _record(model, spec, provenance=provenance, half=half, backbone=backbone)
    text = json.dumps(record, indent=2) + "\n"  # fails before anything is written if not JSON-able
    tensors = {}
    for k, v in spec.module(model).state_dict().items():
        v = v.detach().to("cpu")
        tensors[k] = (v.half() if half and v.is_floating_point() else v).contiguous().clone()
    with atomic_path(folder / WEIGHTS) as tmp:  # fsynced and checked; a full disk is one OutputError line
        save_file(tensors, str(tmp))
    atomic_write_text(folder / CONFIG, text)


def save_pretrained(model: Any, directory: str | os.PathLike, *, provenance: dict[str, Any] | None = None,
                    half: bool = False, backbone: str | None = None) -> Path:
    """Write ``model`` as the model folder ``directory``, whole or not at all."""
    d = Path(directory)
    try:
        with _new_folder(d) as tmp:
            try:
                _write(model, tmp, provenance=provenance, half=half, backbone=backbone)
            except OutputError as exc:  # name the folder the user asked for, not the temporary one
                raise OutputError(str(exc).replace(str(tmp), str(d))) from None
    except OSError as exc:
        raise OutputError(f"{d}: cannot write ({describe_os_error(exc)})") from None
    return d


def fit_problems(module: torch.nn.Module, tensors: dict[str, torch.Tensor], n: int = 3) -> str | None:
    """One line naming the first ``n`` missing, unexpected and mis-shaped keys, or None when they fit."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    shaped = [f"{k} {tuple(tensors[k].shape)} != {tuple(v.shape)}" for k, v in expected.items() if k in tensors and tensors[k].shape != v.shape]
    parts = [f"{label} ({len(keys)}): {', '.join(keys[:n])}{', ...' if len(keys) > n else ''}"
             for label, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", shaped)) if keys]
    return "; ".join(parts) or None


def _weights(d: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(d / WEIGHTS))
    except FileNotFoundError:
        raise BrushworkError(f"{d}: model weights {WEIGHTS} are missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise BrushworkError(f"{d / WEIGHTS}: unreadable weights ({str(exc).splitlines()[0][:200]})") from None


def _build(spec: Any, record: dict[str, Any], d: Path) -> Any:
    try:
        return spec.build(record["config"], record)
    except BrushworkError as exc:
        raise BrushworkError(f"{d / CONFIG}: {exc}") from None
    except (TypeError, ValueError, KeyError) as exc:
        raise BrushworkError(f"{d / CONFIG}: not a {spec.kind} network configuration ({str(exc).splitlines()[0][:200]})") from None


def _finish(model: Any, spec: Any, record: dict[str, Any], d: Path, device: str | torch.device) -> Any:
    model.backbone, model.provenance, model.path = record.get("backbone"), record["provenance"], d
    if not callable(getattr(model, "save_pretrained", None)):
        model.save_pretrained = functools.partial(save_pretrained, model)
    if spec.to_device is not None:
        return spec.to_device(model, device)
    spec.module(model).to(device).eval().requires_grad_(False)
    return model


def load(name_or_path: str | os.PathLike, *, kind: str | None = None, device: str | torch.device = "cpu") -> Any:
    """Rebuild the model of a model folder (see :func:`brushwork.models.load`)."""
    d = resolve(name_or_path)
    record = read_config(d)
    if kind is not None and record["kind"] != kind:
        raise BrushworkError(f"{d}: is a {record['kind']!r} model, not a {kind!r} model")
    spec = kind_spec(record["kind"], d)
    model = _build(spec, record, d)
    tensors = _weights(d)
    module = spec.module(model)
    problems = fit_problems(module, tensors)
    if problems:
        raise BrushworkError(f"{d / WEIGHTS}: weights do not fit the {record['kind']} config ({problems})")
    expected = module.state_dict()
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    return _finish(model, spec, record, d, device)


def describe(name_or_path: str | os.PathLike) -> dict[str, Any]:
    """Kind, config, backbone, dtype, provenance, parameter count and size of a model folder."""
    d = resolve(name_or_path)
    record = read_config(d)
    try:
        with safe_open(str(d / WEIGHTS), framework="pt") as f:
            shapes = {k: f.get_slice(k).get_shape() for k in f.keys()}
    except FileNotFoundError:
        raise BrushworkError(f"{d}: model weights {WEIGHTS} are missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise BrushworkError(f"{d / WEIGHTS}: unreadable weights ({str(exc).splitlines()[0][:200]})") from None
    count = 0
    for k, shape in shapes.items():
        if not k.endswith(_STATISTICS):
            n = 1
            for s in shape:
                n *= int(s)
            count += n
    keys = ("kind", "config", "backbone", "dtype", "provenance")
    return {"path": str(d), **{k: record.get(k) for k in keys}, "parameters": count, "bytes": (d / WEIGHTS).stat().st_size}


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file; of a folder, over its files' relative names and contents in sorted order."""
    p, h = Path(path), hashlib.sha256()
    files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
    for f in files:
        if f is not p:
            h.update(str(f.relative_to(p)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def import_model(format_name: str, source: str | os.PathLike | None, directory: str | os.PathLike, *,
                 force: bool = False, half: bool = False, **options: Any) -> Path:
    """Convert ``source`` with the importer of ``format_name`` into the model folder ``directory``."""
    known = known_importers()
    spec = known.get(format_name)
    if spec is None:
        raise BrushworkError(f"unknown model format {format_name!r} (known formats: {', '.join(known) or 'none'})")
    if source is None:
        if spec.default_source is None:
            raise BrushworkError(f"{format_name}: give the SOURCE file or folder to import")
        source = spec.default_source()
    src, d = Path(source), Path(directory)
    if not src.exists():
        raise BrushworkError(f"{src}: no such file")
    if d.exists() and not force:
        raise BrushworkError(f"{d}: exists; give --force to replace it")
    model, prov = spec.fn(src, **options)
    given = {k: v for k, v in (prov or {}).items() if v is not None}
    provenance = {"source": src.name, "how": f"imported from {format_name} with brushwork models import", **given,
                  "file": src.name, "sha256": sha256_file(src), "format": format_name,
                  "licence": given.get("licence") or spec.licence or "unknown"}
    with _new_folder(d) as tmp:
        _write(model, tmp, provenance=provenance, half=half, backbone=None)
        load(tmp)  # the folder must load back before it replaces anything
    return d
