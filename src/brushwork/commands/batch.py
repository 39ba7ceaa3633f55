"""Folder inputs that finish: every readable file is processed, every bad one reported.

A command that takes a folder runs each file through :meth:`Batch.run`. A file that
fails with a :class:`~brushwork.errors.BrushworkError` (unreadable image, mask of the
wrong size, too large for the memory ...) is reported as one line on stderr and the
batch goes on. :meth:`Batch.finish` prints a summary line (``--json``: one object that
lists every file with its status and reason) and exits with code 2 when any file failed.
A single-file input keeps the plain behaviour: its error is the command's error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import click

from ..errors import BrushworkError
from .common import emit_json


class Batch:
    """Results of one command over ``source`` (a file or a folder) into ``output``."""

    def __init__(self, source: str | os.PathLike, output: str | os.PathLike, *, quiet: bool = False, as_json: bool = False) -> None:
        self.source, self.output = Path(source), Path(output)
        self.folder = self.source.is_dir()
        self.quiet, self.as_json = quiet, as_json
        self.files: list[dict[str, Any]] = []

    def run(self, src: str | os.PathLike, dst: str | os.PathLike, work: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """Run ``work()`` (which writes ``dst`` and returns its report); ``None`` when it failed in a folder batch."""
        try:
            report = work()
        except BrushworkError as exc:
            if not self.folder:
                raise
            reason = str(exc)
            if str(src) not in reason and Path(src).name not in reason:
                reason = f"{src}: {reason}"
            self.files.append({"input": str(src), "output": str(dst), "status": "failed", "reason": reason})
            click.echo(f"brushwork: failed: {reason}", err=True)
            return None
        self.files.append({"input": str(src), "status": "ok", **report})
        return report

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The entries of the files that failed."""
        return [f for f in self.files if f["status"] != "ok"]

    def summary(self) -> str:
        """``'3 of 4 image(s) written to out; 1 failed'``."""
        done = len(self.files) - len(self.failed)
        text = f"{done} of {len(self.files)} image(s) written to {self.output}"
        return text + (f"; {len(self.failed)} failed" if self.failed else "")

    def finish(self, extra: dict[str, Any] | None = None) -> None:
        """Print the JSON object (``--json``) or the summary line; BrushworkError (exit 2) if any file failed."""
        ok = [{k: v for k, v in f.items() if k != "status"} for f in self.files if f["status"] == "ok"]
        if self.as_json:
            if self.folder:
                emit_json({**(extra or {}), "outputs": ok, "files": self.files, "written": len(ok), "failed": len(self.failed)})
            elif ok:  # one file: its report alone, as before folders were batches
                emit_json({**(extra or {}), **{k: v for k, v in ok[0].items() if k != "input"}})
        if self.failed:
            raise BrushworkError(self.summary())
        if self.folder and not self.as_json and not self.quiet:
            click.echo(self.summary(), err=True)
