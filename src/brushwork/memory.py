"""How much memory the machine can give us, and a one-line refusal when a job needs more.

Read from ``/proc/meminfo`` (``MemAvailable``: what can be allocated without swapping);
where that is missing (not Linux, a sandbox) a fixed :data:`FALLBACK_BYTES` is assumed.
No psutil.
"""

from __future__ import annotations

import os

from .errors import BrushworkError

FALLBACK_BYTES = 4 * 1024**3
"""Assumed available memory (4 GiB) where ``/proc/meminfo`` cannot be read."""


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``), else :data:`FALLBACK_BYTES`.

    ``BRUSHWORK_MEMORY_LIMIT`` (bytes) caps it, for containers whose limit the kernel
    does not show in ``/proc/meminfo``.
    """
    found = FALLBACK_BYTES
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    cap = os.environ.get("BRUSHWORK_MEMORY_LIMIT", "")
    if cap.isdigit() and int(cap) > 0:
        found = min(found, int(cap))
    return found


def gib(n: float) -> str:
    """``n`` bytes as ``'1.5 GB'`` (GiB, one decimal)."""
    return f"{n / 1024**3:.1f} GB"


def check_memory(need: float, what: str, limit: int | None = None) -> None:
    """Raise BrushworkError when ``need`` bytes exceed ``limit`` (default: :func:`available_memory`).

    ``what`` starts the message, e.g. ``"photo.png: decoding 30000x30000 px"``.
    """
    limit = available_memory() if limit is None else limit
    if need > limit:
        raise BrushworkError(f"{what} needs about {gib(need)} of memory, more than the {gib(limit)} available; refused")
