"""Ranges for the numbers in configs that come from files, ``--set`` and HTTP clients.

A config read from a model folder or run file is untrusted: valid JSON can still ask for a
million residual blocks or a negative width. Config classes declare each field's range
with :func:`check_int` / :func:`check_float` / :func:`check_int_list` (all raise one-line
:class:`~brushwork.errors.BrushworkError`) in their ``validate()``, and estimate the memory
of the network they describe with :func:`network_bytes` before it is built.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import BrushworkError
from .memory import check_memory


def check_int(value: Any, name: str, lo: int, hi: int) -> int:
    """``value`` as an int in ``[lo, hi]`` (bools and floats refused); BrushworkError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BrushworkError(f"{name} must be a whole number, not {type(value).__name__} ({value!r:.60})")
    if not lo <= value <= hi:
        span = f"at most {hi}" if lo <= -10**9 else f"between {lo} and {hi}"  # a huge negative lo: only the top is checked here
        raise BrushworkError(f"{name} must be {span}, not {value}")
    return value


def check_float(value: Any, name: str, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a finite float in ``[lo, hi]`` (``lo_open`` / ``hi_open``: excluding that end)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BrushworkError(f"{name} must be a number, not {type(value).__name__} ({value!r:.60})")
    value = float(value)
    low_ok = value > lo if lo_open else value >= lo
    high_ok = value < hi if hi_open else value <= hi
    if not math.isfinite(value) or not (low_ok and high_ok):
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise BrushworkError(f"{name} must be a finite number in {left}{lo:g}, {hi:g}{right}, not {value}")
    return value


def check_int_list(value: Any, name: str, lo: int, hi: int, *, min_len: int = 1, max_len: int = 64) -> list[int]:
    """A list (or tuple) of ``min_len``..``max_len`` ints, each in ``[lo, hi]``."""
    if not isinstance(value, (list, tuple)):
        raise BrushworkError(f"{name} must be a list of whole numbers, not {type(value).__name__} ({value!r:.60})")
    if not min_len <= len(value) <= max_len:
        count = f"exactly {min_len}" if min_len == max_len else f"{min_len} to {max_len}"
        raise BrushworkError(f"{name} must have {count} entries, not {len(value)}")
    return [check_int(v, f"{name}[{i}]", lo, hi) for i, v in enumerate(value)]


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise BrushworkError(f"{name} must be one of {', '.join(choices)}, not {value!r:.60}")
    return value


def network_bytes(parameters: int, activations: int, *, training: bool = False) -> int:
    """Bytes a float32 network needs: its parameters (x4 with gradients and Adam's two
    moments when ``training``) plus ``activations`` float32 values alive at the peak."""
    return 4 * (parameters * (4 if training else 1) + activations)


def check_network_memory(parameters: int, activations: int, what: str, *, training: bool = False, limit: int | None = None) -> None:
    """Refuse (BrushworkError) a network whose :func:`network_bytes` exceed the available memory."""
    check_memory(network_bytes(parameters, activations, training=training), what, limit)


_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def check_types(obj: Any, where: str) -> None:
    """Each field of dataclass ``obj`` annotated ``int``, ``float``, ``str`` or ``bool`` (optionally
    ``| None``) holds that type (an int is a float; a bool is no number); BrushworkError otherwise."""
    import dataclasses

    for f in dataclasses.fields(obj):
        hint = str(f.type).replace(" ", "")
        optional = hint.endswith("|None")
        kinds = _TYPES.get(hint[: -len("|None")] if optional else hint)
        value = getattr(obj, f.name)
        if kinds is None or (optional and value is None):
            continue
        bad_bool = isinstance(value, bool) and bool not in kinds
        if bad_bool or not isinstance(value, kinds):
            raise BrushworkError(f"{where}{f.name} must be {hint.replace('|None', ' or null')}, not {type(value).__name__} ({value!r:.60})")
