"""Click options generated from typed dataclass fields, and the options every command shares.

A field becomes one option: the flag from its name (``batch_size`` -> ``--batch-size``), the
click type from its type hint, the default from its default, and from ``field(metadata=...)``:

* ``help``: the help text; ``flag``: another visible spelling; ``aliases``: old spellings that
  keep working but are not shown in ``--help``;
* ``min`` / ``max``: an ``IntRange`` / ``FloatRange``; ``choices``: a ``Choice`` for a ``str``
  field (a ``Literal[...]`` hint gives one too);
* ``multiple``: a ``tuple`` / ``list`` field taken as a repeatable option instead;
* ``cli``: ``False`` keeps the field off the command line.

``bool`` fields become ``--x/--no-x`` flags, ``tuple[...]`` / ``list[...]`` fields take
comma-separated values. :func:`build` makes the dataclass from the parsed keyword arguments
and :func:`flag_errors` rewrites the field names in a library error to their flags. A class
given as ``"module:Class"`` (with ``cls=FieldCommand``) is imported only when the command
first needs its options, so a group's module stays free of torch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import click

from ..errors import BrushworkError, ConfigError

THREADS_HELP = "CPU threads for torch (0 = torch's default; with --resume, the run's own)."


def make_threads_option(help: str = THREADS_HELP, default: int = 0):
    """``--threads N``: torch CPU threads, 0 meaning the command's automatic choice (``help`` says which)."""
    return click.option("--threads", type=click.IntRange(0, 1024), default=default, show_default=True, help=help)


threads_option = make_threads_option()
"""The one ``--threads``: torch CPU threads, 0 meaning torch's default."""

AMP_MODES = ("auto", "bf16", "off")


def amp_option(default: str = "off", help: str = "bfloat16 autocast: auto (where the hardware runs it natively), bf16 (always) or off."):
    """The one ``--amp [auto|bf16|off]``; a bare ``--amp`` (older spelling) means ``bf16``."""
    return click.option("--amp", type=click.Choice(AMP_MODES), default=default, show_default=True, is_flag=False, flag_value="bf16", help=help)


def amp_enabled(mode: str, device: str) -> bool:
    """``--amp`` as a trainer's bool: bf16 on, off off, auto where the hardware runs bfloat16 natively."""
    if mode == "auto":
        from ..precision import fast_bf16

        return fast_bf16(device)
    return mode == "bf16"


class AliasedOption(click.Option):
    """A click option whose old spellings (``hidden_names``) parse but stay out of ``--help``."""

    def __init__(self, *args: Any, hidden_names: tuple[str, ...] = (), field_name: str | None = None, owner: type | None = None,
                 override: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hidden_names = frozenset(hidden_names)
        self.field_name = field_name  # the dataclass field this option sets (generated options only)
        self.owner = owner
        self.override = override  # True: no default of its own, the layered config's value stays

    def get_help_record(self, ctx: click.Context):
        opts, secondary = self.opts, self.secondary_opts
        self.opts = [o for o in opts if o not in self.hidden_names]
        self.secondary_opts = [o for o in secondary if o not in self.hidden_names]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts, self.secondary_opts = opts, secondary


class CommaList(click.ParamType):
    """Comma-separated values of one type (``0.7,0.3``) as a tuple; a tuple passes through."""

    def __init__(self, item: type) -> None:
        self.item = item
        self.name = f"{item.__name__},..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple:
        if isinstance(value, (tuple, list)):
            return tuple(value)
        try:
            return tuple(self.item(x) for x in str(value).replace(" ", "").split(",") if x)
        except ValueError:
            kind = "numbers" if self.item in (int, float) else "values"
            self.fail(f"must be comma-separated {kind}, not {value!r}", param, ctx)


def flag_of(f: dataclasses.Field) -> str:
    """The visible flag of field ``f``: ``metadata['flag']`` or ``--`` + the name with dashes."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _strip_optional(hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return hint


def _click_type(f: dataclasses.Field, hint: Any) -> Any:
    """The click type of field ``f`` from its hint and metadata."""
    hint = _strip_optional(hint)
    meta = f.metadata
    if typing.get_origin(hint) is Literal:
        return click.Choice([str(v) for v in typing.get_args(hint)])
    if "choices" in meta:
        return click.Choice(list(meta["choices"]))
    if typing.get_origin(hint) in (tuple, list):
        return CommaList(typing.get_args(hint)[0])
    if hint in (int, float) and ("min" in meta or "max" in meta):
        ranged = click.IntRange if hint is int else click.FloatRange
        return ranged(meta.get("min"), meta.get("max"))
    if hint is Path:
        return click.Path(path_type=Path)
    return hint if hint in (int, float, str) else str


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def cli_fields(cls: type, *, exclude: tuple[str, ...] = (), only: tuple[str, ...] | None = None) -> list[dataclasses.Field]:
    """The fields of ``cls`` that become options (``only`` keeps its own order; a name in it
    that is no command-line field of ``cls`` is a programming error)."""
    by_name = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("cli", True)}
    unknown = sorted(set(only or ()) - set(by_name))
    if unknown:
        raise ValueError(f"{cls.__name__} has no command-line field {unknown[0]!r}")
    names = list(only) if only is not None else list(by_name)
    return [by_name[n] for n in names if n not in exclude]


def make_option(cls: type, f: dataclasses.Field, hint: Any) -> Callable:
    """The click option decorator of field ``f`` of dataclass ``cls``."""
    meta, flag = f.metadata, flag_of(f)
    aliases = tuple(meta.get("aliases", ()))
    default = _default(f)
    required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    common = dict(cls=AliasedOption, hidden_names=aliases, field_name=f.name, owner=cls, help=meta.get("help"), show_default=default is not None,
                  required=required)
    if _strip_optional(hint) is bool:
        negatives = tuple(f"--no-{a[2:]}" for a in aliases)
        decls = [f"{flag}/--no-{flag[2:]}", *(f"{a}/{n}" for a, n in zip(aliases, negatives))]
        return click.option(*decls, f.name, default=bool(default), hidden_names=aliases + negatives,
                            **{k: v for k, v in common.items() if k != "hidden_names"})
    if meta.get("multiple"):
        item = typing.get_args(_strip_optional(hint))[0]
        return click.option(flag, *aliases, f.name, type=item, multiple=True, default=tuple(default or ()), **common)
    return click.option(flag, *aliases, f.name, type=_click_type(f, hint), default=default, **common)


class DeferredOptions:
    """Stands in a :class:`FieldCommand`'s parameters for the options of a dataclass named
    ``"module:Class"``, made when the command first needs its parameters."""

    def __init__(self, spec: str, exclude: tuple[str, ...], only: tuple[str, ...] | None) -> None:
        self.spec, self.exclude, self.only = spec, exclude, only

    def resolve(self) -> list[click.Parameter]:
        import importlib

        module, name = self.spec.split(":")

        def holder() -> None: ...

        options_from(getattr(importlib.import_module(module), name), exclude=self.exclude, only=self.only)(holder)
        return list(reversed(holder.__click_params__))  # type: ignore[attr-defined]


class FieldCommand(click.Command):
    """A click command whose :class:`DeferredOptions` become options on first use, so that
    importing the command does not import the (often torch-heavy) module of its dataclass."""

    @property
    def params(self) -> list[click.Parameter]:  # type: ignore[override]
        raw = self.__dict__["_params"]
        if any(isinstance(p, DeferredOptions) for p in raw):
            raw = [q for p in raw for q in (p.resolve() if isinstance(p, DeferredOptions) else [p])]
            self.__dict__["_params"] = raw
        return raw

    @params.setter
    def params(self, value: list[click.Parameter]) -> None:
        self.__dict__["_params"] = list(value)


def option_group(*options: Callable) -> Callable:
    """One decorator applying click ``options`` in the order given (the first is listed first)."""
    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def options_from(cls: type | str, *, exclude: tuple[str, ...] = (), only: tuple[str, ...] | None = None) -> Callable:
    """Decorator adding one option per field of dataclass ``cls`` (in field order); ``cls`` as
    ``"module:Class"`` defers that to the first use of a :class:`FieldCommand`."""
    if isinstance(cls, str):
        def defer(command: Callable) -> Callable:
            command.__dict__.setdefault("__click_params__", []).append(DeferredOptions(cls, exclude, only))
            return command

        return defer
    hints = typing.get_type_hints(cls)
    chosen = cli_fields(cls, exclude=exclude, only=only)

    def decorate(command: Callable) -> Callable:
        for f in reversed(chosen):
            command = make_option(cls, f, hints[f.name])(command)
        return command

    return decorate


def overrides_from(cls: type, *, only: tuple[str, ...]) -> Callable:
    """Decorator adding options that override fields of ``cls`` in a layered config (preset,
    file, ``--set``): like :func:`options_from`, but with no default (None: keep the config's)."""
    hints = typing.get_type_hints(cls)
    chosen = cli_fields(cls, only=only)

    def decorate(command: Callable) -> Callable:
        for f in reversed(chosen):
            help_text = f"{f.metadata.get('help', '')} [default: the config's; built-in {_default(f)}]".strip()
            command = click.option(flag_of(f), *f.metadata.get("aliases", ()), f.name, cls=AliasedOption, hidden_names=tuple(f.metadata.get("aliases", ())),
                                   field_name=f.name, owner=cls, override=True, type=_click_type(f, hints[f.name]), default=None,
                                   help=help_text)(command)
        return command

    return decorate


def pop_overrides(cls: type, kwargs: dict[str, Any], section: str) -> list[dict[str, Any]]:
    """The ``{section: {field: value}}`` overrides of the given :func:`overrides_from` options
    (popped from ``kwargs``)."""
    values = {f.name: kwargs.pop(f.name) for f in dataclasses.fields(cls) if f.name in kwargs}
    return [{section: {k: v}} for k, v in values.items() if v is not None]


def build(cls: type, kwargs: dict[str, Any], *, validate: bool = True, flags: dict[str, str] | None = None, **fixed: Any) -> Any:
    """An instance of ``cls`` from the command's keyword arguments: the generated ones are
    popped from ``kwargs``; ``fixed`` gives fields the command sets itself. A
    :class:`BrushworkError` from ``validate()`` names the popped fields' flags (and
    ``flags``: ``{field: flag}`` of the fields set by hand-written options), not the fields."""
    hints = typing.get_type_hints(cls)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    values = {name: kwargs.pop(name) for name in list(by_name) if name in kwargs}
    names = {name: flag_of(by_name[name]) for name in values}
    names.update(flags or {})
    values = {k: list(v) if typing.get_origin(_strip_optional(hints[k])) is list and isinstance(v, tuple) else v for k, v in values.items()}
    values.update(fixed)
    try:
        obj = cls(**values)
        return obj.validate() if validate and hasattr(obj, "validate") else obj
    except BrushworkError as exc:
        renamed = _renamed(exc, names)
        if renamed is exc:
            raise
        raise renamed from exc


def flag_names(*classes: type, extra: dict[str, str] | None = None) -> dict[str, str]:
    """``{field name: flag}`` over ``classes`` (the first class naming a field wins)."""
    names: dict[str, str] = {}
    for cls in classes:
        for f in cli_fields(cls):
            names.setdefault(f.name, flag_of(f))
    names.update(extra or {})
    return names


def to_flags(message: str, names: dict[str, str]) -> str:
    """``message`` with each field name (a whole word, not already a flag) replaced by its flag."""
    if not names:
        return message
    pattern = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")(?![\w-])")
    return pattern.sub(lambda m: names[m.group(1)], message)


@contextlib.contextmanager
def flag_errors(*classes: type, extra: dict[str, str] | None = None) -> Iterator[None]:
    """Re-raise a :class:`BrushworkError` whose message names fields of ``classes`` with
    the fields' flags instead (the library speaks of fields, the CLI of flags)."""
    try:
        yield
    except BrushworkError as exc:
        renamed = _renamed(exc, flag_names(*classes, extra=extra))
        if renamed is exc:
            raise
        raise renamed from exc


def _renamed(exc: BrushworkError, names: dict[str, str]) -> BrushworkError:
    """``exc`` with the field names in its message spelled as flags (``exc`` itself if none)."""
    message = to_flags(str(exc), names)
    field_name = getattr(exc, "field", None)
    if isinstance(exc, ConfigError):
        short = exc.field.rsplit(".", 1)[-1]
        if message == str(exc) and short in names:
            return exc.renamed(names[short])
        return exc if message == str(exc) else ConfigError(field_name, message)
    return exc if message == str(exc) else BrushworkError(message)


def field_defaults(cls: type) -> dict[str, Any]:
    """``{field name: default}`` of dataclass ``cls`` (fields without one are left out)."""
    return {f.name: _default(f) for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
