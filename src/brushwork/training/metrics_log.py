"""Metrics to ``<run>/metrics.jsonl`` (one JSON object per line) and TensorBoard event files.

TensorBoard is written through ``torch.utils.tensorboard`` when the ``tensorboard``
package imports; otherwise the JSONL log alone is kept and :attr:`MetricsLog.note` says why.
On resume, lines (and TensorBoard events) after the checkpoint's step are dropped, so a
resumed run's log reads like one run.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..fsutil import OutputError, atomic_write_text, describe_os_error


class MetricsLog:
    """Append-only metric log. ``log(step, {"loss_d": 0.7, ...})``; call :meth:`close` at the end."""

    def __init__(self, run_dir: str | os.PathLike, *, resume_step: int | None = None, tensorboard: bool = True) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        if resume_step is not None and self.path.exists():
            self._truncate(resume_step)
        try:
            self._file = open(self.path, "a", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write ({describe_os_error(exc)})") from None
        self.writer = None
        self.note = ""
        if tensorboard:
            try:
                import tensorboard  # noqa: F401
                from torch.utils.tensorboard import SummaryWriter

                purge = None if resume_step is None else resume_step + 1
                self.writer = SummaryWriter(str(Path(run_dir) / "tb"), purge_step=purge)
            except Exception as exc:  # missing or broken tensorboard install
                self.note = f"TensorBoard logging off ({type(exc).__name__}: {exc})"

    def _truncate(self, step: int) -> None:
        keep = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    keep.append(line)
            except ValueError:
                continue  # a torn last line from a crash
        atomic_write_text(self.path, "".join(k + "\n" for k in keep))

    def log(self, step: int, values: dict[str, Any]) -> None:
        """Write one record ``{"step": step, **values}``; numbers also go to TensorBoard."""
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}
        try:
            self._file.write(json.dumps({"step": step, **clean}) + "\n")
            self._file.flush()
        except OSError as exc:  # a torn last line is dropped on resume
            raise OutputError(f"{self.path}: cannot write ({describe_os_error(exc)})") from None
        if self.writer is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    self.writer.add_scalar(k, v, step)

    def close(self) -> None:
        """Flush and close the files (a failed flush is not raised again: :meth:`log` reported it)."""
        try:
            self._file.close()
        except OSError:
            pass
        if self.writer is not None:
            self.writer.close()
