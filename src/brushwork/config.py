"""One base for every config dataclass: strict dicts, files, ``key=value`` overrides, presets.

A config class is a dataclass that also derives from :class:`ConfigBase`. Its fields may be
``bool``, ``int``, ``float``, ``str``, ``list[...]``, ``tuple[..., ...]``, optional (``X | None``)
or another :class:`ConfigBase` dataclass (a section, e.g. GAN's ``model`` / ``data`` / ``train``).
:meth:`ConfigBase.from_dict` refuses unknown keys and values of the wrong type with a
:class:`~brushwork.errors.ConfigError` naming the dotted key, then calls ``validate()``.

Named presets are TOML files ``brushwork/presets/<trainer>/<name>.toml`` holding only the keys
that differ from the defaults; :func:`resolve` layers preset -> file -> overrides.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, Sequence, TypeVar

from .errors import BrushworkError, ConfigError

PRESET_DIR = Path(__file__).parent / "presets"
C = TypeVar("C", bound="ConfigBase")


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))


def _union_args(hint: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return None


def check_value(value: Any, hint: Any, where: str, prefix: str = "") -> Any:
    """``value`` checked against the type ``hint`` (ints accepted and converted for floats,
    lists for tuples); ConfigError naming ``where`` otherwise."""
    options = _union_args(hint)
    if options is not None:
        if value is None and type(None) in options:
            return None
        rest = [h for h in options if h is not type(None)]
        hint = rest[0] if len(rest) == 1 else Any
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        return _check_sequence(value, hint, origin, where, prefix)
    if isinstance(hint, type) and issubclass(hint, ConfigBase):
        return hint.from_dict(value, where=where, validate=False)
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif hint is str:
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        raise ConfigError(where, f"{prefix}{where} must be {_type_name(hint)}, not {type(value).__name__} ({value!r:.60})")
    return value


def _check_sequence(value: Any, hint: Any, origin: type, where: str, prefix: str) -> Any:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(where, f"{prefix}{where} must be a list, not {type(value).__name__} ({value!r:.60})")
    args = typing.get_args(hint)
    item = args[0] if args else Any
    items = [check_value(v, item, f"{where}[{i}]", prefix) for i, v in enumerate(value)]
    return tuple(items) if origin is tuple else items


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]


def checked(name: str, check: Any, *args: Any, **kwargs: Any) -> Any:
    """``check(*args, **kwargs)`` (a :mod:`brushwork.bounds` check), its BrushworkError re-raised
    as a ConfigError of field ``name``."""
    try:
        return check(*args, **kwargs)
    except ConfigError:
        raise
    except BrushworkError as exc:
        raise ConfigError(name, str(exc)) from None


def require(checks: Sequence[tuple[bool, str, str]], prefix: str = "") -> None:
    """Raise a ConfigError for the first ``(ok, field, message)`` that is not ok."""
    for ok, name, message in checks:
        if not ok:
            raise ConfigError(name, f"{prefix}{message}")


class ConfigBase:
    """Mixin of the config dataclasses: ``from_dict`` / ``to_dict`` / ``validate`` / ``from_file``.

    Class attributes: ``error_prefix`` starts every message (e.g. ``"config: "``);
    ``legacy_defaults`` fill keys that configs saved by older versions lack.
    """

    error_prefix: typing.ClassVar[str] = "config: "
    legacy_defaults: typing.ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_dict(cls: type[C], data: Any, *, where: str = "", validate: bool = True) -> C:
        """Build from a (nested) dict; unknown keys and wrong types raise ConfigError."""
        prefix = cls.error_prefix
        if not isinstance(data, dict):
            what = f"[{where}]" if where else "a config"
            raise ConfigError(where, f"{prefix}{what} must be a table of keys, not {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(names))
        if unknown:
            key = f"{where}.{unknown[0]}" if where else unknown[0]
            shown = key if where else repr(key)
            raise ConfigError(key, f"{prefix}unknown key {shown} (known: {', '.join(sorted(names))})")
        data = {**cls.legacy_defaults, **data}
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in data and _required(f)]  # type: ignore[arg-type]
        if missing:
            key = f"{where}.{missing[0]}" if where else missing[0]
            raise ConfigError(key, f"{prefix}missing key {key} (required: {', '.join(missing)})")
        kwargs = {k: check_value(v, hints[k], f"{where}.{k}" if where else k, prefix) for k, v in data.items()}
        cfg = cls(**kwargs)
        return cfg.validate() if validate else cfg

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (round-trips through :meth:`from_dict`)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def validate(self: C) -> C:
        """Check ranges and choices that types alone do not catch; returns ``self``."""
        return self

    @classmethod
    def from_file(cls: type[C], path: str | os.PathLike) -> C:
        """The config of a TOML / YAML / JSON file."""
        return cls.from_dict(read_config_file(path))

    def apply_overrides(self: C, overrides: Sequence[dict[str, Any]]) -> C:
        """A new config: this one with each nested dict of ``overrides`` merged in, validated."""
        data = self.to_dict()
        for o in overrides:
            data = merge_dicts(data, o)
        return type(self).from_dict(data)

    @classmethod
    def load_preset(cls: type[C], trainer: str, name: str, *, validate: bool = True) -> C:
        """The config of preset file ``presets/<trainer>/<name>.toml`` over the defaults."""
        return cls.from_dict(preset_data(trainer, name), validate=validate)


def preset_names(trainer: str) -> list[str]:
    """The preset names of ``trainer`` (``gan``, ``fast``, ``adain``, ``translate``), sorted."""
    return sorted(p.stem for p in (PRESET_DIR / trainer).glob("*.toml"))


def preset_data(trainer: str, name: str) -> dict[str, Any]:
    """The keys preset ``name`` of ``trainer`` sets; BrushworkError for an unknown name."""
    path = PRESET_DIR / trainer / f"{name}.toml"
    if not isinstance(name, str) or "/" in name or not path.is_file():
        raise BrushworkError(f"unknown preset {name!r} (known: {', '.join(preset_names(trainer))})")
    return read_config_file(path)


def _load_toml(text: str) -> Any:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(text)


def _load_yaml(text: str) -> Any:
    import yaml

    return yaml.safe_load(text) or {}


_PARSERS = {".toml": _load_toml, ".yaml": _load_yaml, ".yml": _load_yaml, ".json": json.loads}


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a ``.toml``, ``.yaml``/``.yml`` or ``.json`` file into a dict."""
    p = Path(path)
    if not p.is_file():
        raise BrushworkError(f"{p}: no such config file")
    parse = _PARSERS.get(p.suffix.lower())
    if parse is None:
        raise BrushworkError(f"{p}: config files must end in .toml, .yaml, .yml or .json")
    try:
        data = parse(p.read_text(encoding="utf-8", errors="replace"))
    except Exception as exc:  # parser errors of three libraries
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BrushworkError(f"{p}: cannot parse config ({first})") from None
    if not isinstance(data, dict):
        raise BrushworkError(f"{p}: a config file must hold a table of keys")
    return data


def merge_dicts(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: ``update``'s values replace ``base``'s, nested dicts merged key by key (copies)."""
    out = copy.deepcopy(base)
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_dicts(out[k], v)
        else:
            out[k] = v
    return out


def parse_value(raw: str) -> Any:
    """A ``--set`` value parsed as YAML (numbers, bools, lists); ``1e-3`` is a float too."""
    import yaml

    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
        try:
            value = float(value)
        except ValueError:
            pass
    return value


def parse_override(text: str, *, depth: int | None = None) -> dict[str, Any]:
    """``"train.steps=100"`` -> ``{"train": {"steps": 100}}``; ``depth``: the number of dotted
    parts the key must have (None: any)."""
    if "=" not in text:
        raise BrushworkError(f"--set {text!r}: expected key=value or section.key=value")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts) or (depth is not None and len(parts) != depth):
        shape = "section.key" if depth == 2 else "key" if depth == 1 else "a dotted key"
        raise BrushworkError(f"--set {text!r}: key must be {shape}")
    out: Any = parse_value(raw)
    for part in reversed(parts):
        out = {part: out}
    return out


def layer_sources(trainer: str, preset: str | None, file: str | os.PathLike | None, overrides: Sequence[dict[str, Any]] = (),
                  preset_keys: Sequence[str] = ("preset", "extends")) -> dict[str, Any]:
    """The merged dict of preset -> file -> overrides; the file may name its own preset under
    one of ``preset_keys``."""
    file_data = read_config_file(file) if file else {}
    named = [file_data.pop(k) for k in preset_keys if k in file_data]
    base_preset = preset or (named[0] if named else None)
    if base_preset is not None and not isinstance(base_preset, str):
        raise BrushworkError("config: preset must be a string")
    data = preset_data(trainer, base_preset) if base_preset is not None else {}
    data = merge_dicts(data, file_data)
    for o in overrides:
        data = merge_dicts(data, o)
    return data


def resolve(cls: type[C], trainer: str, *, preset: str | None = None, file: str | os.PathLike | None = None,
            overrides: Sequence[dict[str, Any]] = (), base: dict[str, Any] | None = None) -> C:
    """``cls`` from ``base`` (e.g. required paths) -> preset -> file -> overrides, validated. A file
    names its preset as ``extends = "NAME"`` (or ``preset = "NAME"`` where ``cls`` has no ``preset`` field)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    keys = [k for k in ("preset", "extends") if k not in {f.name for f in fields}]
    defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}  # a new run: no legacy_defaults
    data = merge_dicts({**defaults, **(base or {})}, layer_sources(trainer, preset, file, overrides, preset_keys=keys))
    return cls.from_dict(data)
