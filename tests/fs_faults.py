"""Full and read-only file systems for tests: a real small tmpfs where we may mount one
(root in a container that allows it), else a shim that makes the OS calls fail."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest


def _mount(path: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


@contextlib.contextmanager
def tmpfs(path: Path, size_kb: int, *, read_only: bool = False) -> Iterator[Path]:
    """Mount a ``size_kb`` KiB tmpfs (read-only if asked) at ``path``; skip the test if not allowed."""
    if not _mount(path, f"size={size_kb}k" + (",ro" if read_only else "")):
        pytest.skip("mounting a tmpfs is not allowed here (needs root and CAP_SYS_ADMIN); the shim tests cover this")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path, leave: int = 0) -> None:
    """Fill the file system of ``folder`` until at most ``leave`` bytes are free."""
    with open(folder / "filler", "wb") as f:
        chunk = b"\0" * 4096
        while True:
            st = os.statvfs(folder)
            if st.f_bavail * st.f_frsize <= leave:
                break
            try:
                f.write(chunk)
                f.flush()
            except OSError:
                break


def no_space(*_args, **_kwargs):
    """A stand-in for ``os.fsync`` / ``os.write`` / ``os.replace`` on a full disk."""
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def read_only(*_args, **_kwargs):
    """A stand-in for ``os.open`` on a read-only file system."""
    raise OSError(errno.EROFS, os.strerror(errno.EROFS))


def hidden_files(folder: Path) -> list[str]:
    """Names of hidden (temporary) files in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
