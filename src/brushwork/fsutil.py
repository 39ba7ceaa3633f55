"""Writes that cannot lie: a failed or killed write never replaces a good file with a bad one.

Every output goes to a hidden temporary file in the target folder
(``.<name>.<pid>-<random><suffix>``), which is flushed, fsynced and checked (not
empty, and whatever ``verify`` checks, e.g. that an image reads back) before it is
renamed over the target. The temporary file is created with mode ``0666`` minus the
umask, like any file the user's shell would create.

* :class:`OutputTarget` reserves an output before the work starts: the folder is
  made and the temporary file created at once, so an unwritable target fails in the
  first second, not after an hour of optimisation. A later :func:`atomic_path` for
  the same path writes into the reserved file.
* Any ``OSError`` (no space, permission denied, read-only file system, quota) becomes
  one :class:`OutputError` line naming the file and the cause; the old file stays.
* Temporaries left by a killed process (its pid no longer runs) are removed the next
  time the same file is written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import threading
from pathlib import Path
from typing import Callable, Iterator

from .errors import BrushworkError

_RESERVED: dict[str, "OutputTarget"] = {}
_LOCK = threading.Lock()
_CAUSES = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EFBIG: "file too large for this file system",
    errno.EISDIR: "is a folder",
    errno.ENOTDIR: "a parent is not a folder",
}


class OutputError(BrushworkError):
    """An output file could not be written; the previous file (if any) is untouched."""


def describe_os_error(exc: BaseException) -> str:
    """A short lower-case cause for an OS error: ``no space left on device``, ``permission denied`` ..."""
    code = getattr(exc, "errno", None)
    if code in _CAUSES:
        return _CAUSES[code]
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def _io_cause(exc: BaseException) -> str | None:
    """The OS cause hidden in a writer's non-``OSError`` exception (safetensors' ``IoError``), else None."""
    text = str(exc)
    if "IoError" not in text and "os error" not in text.lower():
        return None
    match = re.search(r'message: "([^"]+)"', text) or re.search(r"\(os error \d+\)", text)
    cause = match.group(1) if match and match.groups() else text.split(":")[-1].strip()
    return re.sub(r"\s*\(os error \d+\)\)?", "", cause).strip().lower()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale_temps(folder: str | os.PathLike, name: str | None = None) -> int:
    """Remove temporaries of ``name`` (all names when ``None``) in ``folder`` whose writer is gone.

    Returns how many were removed. Files of running processes are kept.
    """
    pattern = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}(\.[^.]*)?$")
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        m = pattern.match(entry.name)
        if not m or (name is not None and m.group("name") != name) or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(m.group("pid"))
        if pid != os.getpid() and not _pid_alive(pid):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def _full(folder: Path) -> bool:
    """Whether the file system of ``folder`` has no block left for us (root may use the reserved ones)."""
    try:
        st = os.statvfs(folder)
        return (st.f_bfree if os.geteuid() == 0 else st.f_bavail) == 0
    except (OSError, AttributeError):  # no statvfs / geteuid (Windows): nothing to say
        return False


def _new_temp(path: Path, suffix: str) -> Path:
    """Create an empty temporary file beside ``path`` (mode 0666 minus the umask)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "cannot create a temporary file", str(path.parent))


class OutputTarget:
    """A reserved output file: the folder exists and the temporary file is created now.

    Use it as a context manager around the work; :func:`atomic_path` (and so every
    ``save_*`` helper) for the same path fills the reserved temporary file. Leaving the
    block without a write removes it. Raises :class:`OutputError` when the target cannot
    be written (read-only folder, permission, no space for even an empty file).
    """

    def __init__(self, path: str | os.PathLike, suffix: str | None = None) -> None:
        self.path = Path(path)
        self.suffix = self.path.suffix if suffix is None else suffix
        self._made: list[Path] = [p for p in reversed(self.path.parents) if not p.exists()]  # outermost first
        try:
            if self.path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "is a folder", str(self.path))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            clean_stale_temps(self.path.parent, self.path.name)
            if _full(self.path.parent):  # a completely full disk fails now, not after the work
                raise OSError(errno.ENOSPC, "no space left on device")
            self.tmp: Path | None = _new_temp(self.path, self.suffix)
        except OSError as exc:
            self._remove_made()
            raise OutputError(f"{self.path}: cannot write ({describe_os_error(exc)})") from None
        with _LOCK:
            _RESERVED[self._key()] = self

    def _remove_made(self) -> None:
        """Remove the folders this reservation created, where they are still empty."""
        for folder in reversed(self._made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._made = []

    def _key(self) -> str:
        return f"{os.path.abspath(self.path)}\0{self.suffix}"

    def take(self) -> Path:
        """Hand the temporary file to a writer (it is no longer reserved)."""
        with _LOCK:
            if _RESERVED.get(self._key()) is self:
                del _RESERVED[self._key()]
        assert self.tmp is not None
        tmp, self.tmp, self._made = self.tmp, None, []
        return tmp

    def release(self) -> None:
        """Remove the temporary file if it was not used (and the folders made for it, if empty)."""
        with _LOCK:
            if _RESERVED.get(self._key()) is self:
                del _RESERVED[self._key()]
        if self.tmp is not None:
            with contextlib.suppress(OSError):
                self.tmp.unlink()
            self.tmp = None
            self._remove_made()

    def __enter__(self) -> "OutputTarget":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def reserve_folder(folder: str | os.PathLike) -> Path:
    """Prove that ``folder`` can be made and files created in it (OutputError if not); the
    folder is left as it was (a missing one is made again by the first write)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: cannot write (not a folder)")
    OutputTarget(folder / ".brushwork-probe").release()
    if folder.is_dir():
        clean_stale_temps(folder)
    return folder


def _reserved(path: Path, suffix: str) -> OutputTarget:
    with _LOCK:
        found = _RESERVED.get(f"{os.path.abspath(path)}\0{suffix}")
    return found if found is not None and found.tmp is not None else OutputTarget(path, suffix)


def _umask() -> int:
    """The process umask: from /proc on Linux (no change to process state, so safe beside other
    threads), else read by setting it and setting it straight back."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status", encoding="ascii") as f:
            return int(next(line for line in f if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _commit(tmp: Path, path: Path, verify: Callable[[Path], None] | None, allow_empty: bool = False) -> None:
    """fsync and check ``tmp``, then rename it over ``path`` (OSError / OutputError on failure)."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size == 0 and not allow_empty:
        raise OutputError(f"{path}: cannot write ({_space_cause(path, 'the writer produced an empty file')})")
    if verify is not None:
        try:
            verify(tmp)
        except OutputError:
            raise
        except Exception as exc:  # noqa: BLE001 - any reader error means the file is bad
            raise OutputError(f"{path}: cannot write ({_space_cause(path, f'the written file does not read back: {exc}')})") from None
    os.chmod(tmp, 0o666 & ~_umask())  # writers that replace the file (safetensors does) create it 0600
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # make the rename durable; not every file system allows it
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _space_cause(path: Path, otherwise: str) -> str:
    """``no space left on device`` when the folder's file system is full, else ``otherwise``."""
    with contextlib.suppress(OSError):
        st = os.statvfs(path.parent)
        if st.f_bavail == 0:
            return "no space left on device"
    return otherwise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None, *, verify: Callable[[Path], None] | None = None,
                allow_empty: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success check it and rename it over ``path``.

    The temporary file keeps ``path``'s suffix (or ``suffix``) so that writers that pick a
    format from the extension still work; it is the one reserved by an :class:`OutputTarget`
    for ``path`` when there is one. After the block the file is fsynced, must not be empty
    (unless ``allow_empty``),
    and ``verify(tmp)`` (if given) must not raise. On any failure the temporary file is
    removed and ``path`` is left untouched; OS errors raise :class:`OutputError`.
    """
    path = Path(path)
    tmp = _reserved(path, path.suffix if suffix is None else suffix).take()
    try:
        yield tmp
        _commit(tmp, path, verify, allow_empty)
    except BaseException as exc:
        cause = None
        if isinstance(exc, OSError):  # (the free space is looked at before the temporary file frees some)
            cause = describe_os_error(exc) if exc.errno else _space_cause(path, describe_os_error(exc))
        elif isinstance(exc, Exception) and not isinstance(exc, OutputError):
            cause = _io_cause(exc)
        with contextlib.suppress(OSError):
            tmp.unlink()
        if cause is not None:
            raise OutputError(f"{path}: cannot write ({cause})") from None
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (OutputError on a full disk and the like)."""
    with atomic_path(path, allow_empty=not data) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
        if tmp.stat().st_size != len(data):
            raise OutputError(f"{path}: cannot write ({_space_cause(Path(path), 'short write')})")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))
