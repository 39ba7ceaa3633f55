"""Run folders: ``<out>/<NNNNN>-<tag>`` (numbered) or ``<out>/<name>``, each with ``run.json``
(a marker plus the resolved options) beside its checkpoints, samples and logs."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from ..errors import BrushworkError
from ..fsutil import atomic_write_text

RUN_FILE = "run.json"


def next_run_dir(out: str | os.PathLike, tag: str) -> Path:
    """``<out>/<NNNNN>-<tag>`` with ``NNNNN`` one more than the largest number already there."""
    out = Path(out)
    numbers = [int(m.group(1)) for p in (out.iterdir() if out.is_dir() else []) if (m := re.match(r"(\d{5})-", p.name))]
    return out / f"{max(numbers, default=-1) + 1:05d}-{_safe(tag)}"


def _safe(tag: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", tag).strip("-") or "run"


def create_run(out: str | os.PathLike, *, name: str | None, tag: str, kind: str, options: dict[str, Any]) -> Path:
    """Make a new run folder and write its ``run.json`` (atomically).

    Raises BrushworkError if ``name`` is given and that folder already exists and is not
    empty: an existing run is never overwritten (resume it instead).
    """
    path = Path(out) / name if name else next_run_dir(out, tag)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        hint = " (resume it with --resume)" if is_run(path) else ""
        raise BrushworkError(f"{path}: already exists{hint}; choose another --name")
    path.mkdir(parents=True, exist_ok=True)
    record = {"brushwork_run": 1, "kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "options": options}
    atomic_write_text(path / RUN_FILE, json.dumps(record, indent=2) + "\n")
    return path


def is_run(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding a readable Brushwork ``run.json``."""
    try:
        return read_run(path) is not None
    except BrushworkError:
        return False


def read_run(path: str | os.PathLike, kind: str | None = None) -> dict[str, Any]:
    """Load ``run.json`` of a run folder; BrushworkError when it is not a (``kind``) run."""
    p = Path(path)
    if not p.is_dir():
        raise BrushworkError(f"{p}: no such run folder")
    f = p / RUN_FILE
    try:
        record = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BrushworkError(f"{p}: not a Brushwork run (no {RUN_FILE})") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise BrushworkError(f"{f}: unreadable run file ({exc})") from None
    if not isinstance(record, dict) or record.get("brushwork_run") != 1 or not isinstance(record.get("options"), dict):
        raise BrushworkError(f"{f}: not a Brushwork run file")
    if kind is not None and record.get("kind") != kind:
        raise BrushworkError(f"{p}: is a {record.get('kind')!r} run, not a {kind!r} run")
    return record


def discard_failed_start(path: str | os.PathLike) -> bool:
    """Remove a run folder whose start failed before its first checkpoint, so that the same
    ``--name`` can be used again; a folder with any checkpoint, or with files a run does not
    write, is kept. Returns whether it was removed."""
    import shutil

    p = Path(path)
    ours = {RUN_FILE, "metrics.jsonl", "tb", "samples", "checkpoints", "diagnostics"}
    try:
        entries = list(p.iterdir())
        if any(e.name not in ours for e in entries) or any((p / "checkpoints").glob("*.json")):
            return False
        shutil.rmtree(p)
    except OSError:
        return False
    return True
