"""Compute precision for network passes: float32, or bfloat16 autocast where the hardware
runs it natively (CPUs with AVX-512 BF16 / AMX, CUDA GPUs with bf16 support).

``"auto"`` picks bfloat16 only where it is fast; on other CPUs bfloat16 is emulated and
slower than float32, so auto stays with float32 there. Losses and statistics are always
computed in float32 from the (cast-up) features.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache

import torch

from .errors import BrushworkError

PRECISIONS = ("auto", "float32", "bfloat16")


@lru_cache(maxsize=None)
def _cpu_has_fast_bf16() -> bool:
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        try:
            if getattr(torch.cpu, probe)():
                return True
        except (AttributeError, RuntimeError):
            continue
    return False


def fast_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` runs bfloat16 matrix work natively."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return dev.type == "cpu" and _cpu_has_fast_bf16()


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``"float32"`` or ``"bfloat16"`` for ``precision`` in :data:`PRECISIONS` on ``device``."""
    if precision not in PRECISIONS:
        raise BrushworkError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        return "bfloat16" if fast_bf16(device) else "float32"
    return precision


def autocast(precision: str, device: torch.device | str) -> contextlib.AbstractContextManager:
    """An autocast context for a resolved ``precision`` (a no-op for float32)."""
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
