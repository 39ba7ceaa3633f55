"""Writes that cannot lie: full disks, read-only folders, killed writers, file modes."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from brushwork import fsutil
from brushwork.fsutil import OutputError, OutputTarget, atomic_path, atomic_write_bytes, atomic_write_text, clean_stale_temps, reserve_folder
from brushwork.imageio import save_image

from fs_faults import fill, hidden_files, no_space, read_only, tmpfs

NOISE = torch.rand(3, 96, 96, generator=torch.Generator().manual_seed(0))  # incompressible: ~28 KB as PNG


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_get_the_umask_mode(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        save_image(NOISE, tmp_path / "b.png")
        with atomic_path(tmp_path / "c.safetensors") as tmp:  # safetensors replaces the file it is given, mode 0600
            save_file({"w": torch.zeros(2)}, str(tmp))
    finally:
        os.umask(old)
    for name in ("a.json", "b.png", "c.safetensors"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_full_disk_shim_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.jpg"
    save_image(torch.zeros(3, 8, 8), target)
    before = target.read_bytes()
    monkeypatch.setattr(fsutil.os, "fsync", no_space)
    for path in (target, tmp_path / "new.png"):
        with pytest.raises(OutputError, match=r"out.jpg: cannot write \(no space left on device\)|new.png: cannot write \(no space"):
            save_image(NOISE, path)
    assert target.read_bytes() == before and not (tmp_path / "new.png").exists()
    assert hidden_files(tmp_path) == []


def test_full_tmpfs_every_format(tmp_path):
    """A real full file system: no format may exit quietly with a truncated file (JPEG did)."""
    with tmpfs(tmp_path / "small", 64) as disk:
        good = {}
        for suffix in (".jpg", ".png", ".webp", ".bmp", ".tif"):
            save_image(torch.full((3, 8, 8), 0.5), disk / f"out{suffix}")
            good[suffix] = (disk / f"out{suffix}").read_bytes()
        fill(disk, leave=8192)
        for suffix in good:
            with pytest.raises(OutputError, match="cannot write"):
                save_image(NOISE, disk / f"out{suffix}")
            assert (disk / f"out{suffix}").read_bytes() == good[suffix], suffix
        with pytest.raises(OutputError, match="no space left on device"):
            save_image(NOISE, disk / "deep.tif", bit_depth=16)
        with pytest.raises(OutputError, match="no space left on device"):
            atomic_write_bytes(disk / "blob.bin", os.urandom(64 * 1024))
        assert hidden_files(disk) == []


def test_completely_full_disk_fails_at_the_reservation(tmp_path):
    with tmpfs(tmp_path / "full", 64) as disk:
        save_image(torch.full((3, 8, 8), 0.5), disk / "old.png")
        fill(disk, leave=0)
        with pytest.raises(OutputError, match=r"out.png: cannot write \(no space left on device\)"):
            OutputTarget(disk / "out.png")
        assert hidden_files(disk) == [] and not (disk / "out.png").exists()


def test_read_only_folder_fails_before_any_work(tmp_path):
    with tmpfs(tmp_path / "ro", 64, read_only=True) as ro:
        with pytest.raises(OutputError, match="read-only file system"):
            OutputTarget(ro / "out.png")
        with pytest.raises(OutputError, match="read-only file system"):
            reserve_folder(ro / "sub")


def test_read_only_shim(tmp_path, monkeypatch):
    monkeypatch.setattr(fsutil, "_new_temp", read_only)
    with pytest.raises(OutputError, match=r"out.png: cannot write \(read-only file system\)"):
        OutputTarget(tmp_path / "sub" / "out.png")
    assert not (tmp_path / "sub").exists()  # the folder made for it is gone again


def test_reservation_is_filled_by_the_save(tmp_path):
    target = tmp_path / "new" / "out.png"
    with OutputTarget(target) as reserved:
        tmp = reserved.tmp
        assert tmp is not None and tmp.exists() and tmp.parent == target.parent
        save_image(NOISE, target)
        assert not tmp.exists()
    assert target.is_file() and hidden_files(target.parent) == []
    with OutputTarget(tmp_path / "gone" / "x.png"):
        pass
    assert not (tmp_path / "gone").exists()  # nothing written: no folder left either


def test_writer_errors_that_hide_an_os_error(tmp_path):
    class SafetensorError(Exception):
        pass

    with pytest.raises(OutputError, match=r"w.safetensors: cannot write \(no space left on device\)"):
        with atomic_path(tmp_path / "w.safetensors"):
            raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })')
    with pytest.raises(ValueError):  # a real bug keeps its type
        with atomic_path(tmp_path / "v.bin"):
            raise ValueError("bug")
    assert hidden_files(tmp_path) == []


def test_a_file_that_does_not_read_back_is_not_renamed(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    save_image(torch.zeros(3, 8, 8), target)
    before = target.read_bytes()

    def torn(self, fp, format=None, **kw):  # noqa: A002 - a writer that stops half-way without an error
        Path(fp).write_bytes(before[: len(before) // 2])

    monkeypatch.setattr(Image.Image, "save", torn)
    with pytest.raises(OutputError, match="does not read back"):
        save_image(NOISE, target)
    assert target.read_bytes() == before and hidden_files(tmp_path) == []


def test_empty_output_is_refused(tmp_path):
    with pytest.raises(OutputError, match="empty file"):
        with atomic_path(tmp_path / "e.png"):
            pass
    atomic_write_text(tmp_path / "empty.txt", "")  # an empty text is what was asked for
    assert (tmp_path / "empty.txt").read_text() == ""


def test_killed_writer_leaves_a_temp_that_the_next_write_removes(tmp_path):
    code = (
        "import os, signal, sys\n"
        "from brushwork.fsutil import atomic_path\n"
        f"with atomic_path({str(tmp_path / 'out.bin')!r}) as tmp:\n"
        "    tmp.write_bytes(b'half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert done.returncode == -signal.SIGKILL
    assert len(hidden_files(tmp_path)) == 1 and not (tmp_path / "out.bin").exists()
    alive = tmp_path / f".out.bin.{os.getppid()}-0123abcd.bin"  # a writer that still runs
    alive.write_bytes(b"busy")
    atomic_write_bytes(tmp_path / "out.bin", b"whole")
    assert (tmp_path / "out.bin").read_bytes() == b"whole"
    assert hidden_files(tmp_path) == [alive.name]


def test_clean_stale_temps_only_takes_dead_writers(tmp_path):
    dead = _dead_pid()
    (tmp_path / f".a.png.{dead}-deadbeef.png").write_bytes(b"x")
    (tmp_path / f".b.png.{dead}-deadbeef.png").write_bytes(b"x")
    (tmp_path / f".a.png.{os.getpid()}-deadbeef.png").write_bytes(b"x")
    (tmp_path / ".hidden-config").write_bytes(b"x")
    assert clean_stale_temps(tmp_path, "a.png") == 1
    assert clean_stale_temps(tmp_path) == 1
    assert hidden_files(tmp_path) == [".a.png." + f"{os.getpid()}-deadbeef.png", ".hidden-config"]


def test_describe_os_error():
    assert fsutil.describe_os_error(OSError(errno.EDQUOT, "Disk quota exceeded")) == "disk quota exceeded"
    assert fsutil.describe_os_error(PermissionError(errno.EACCES, "Permission denied")) == "permission denied"
    assert fsutil.describe_os_error(OSError("Weird thing")) == "weird thing"


def test_output_folder_that_is_a_file(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(OutputError, match="not a folder"):
        reserve_folder(tmp_path / "f")
    with pytest.raises(OutputError, match="is a folder"):
        OutputTarget(tmp_path)
    assert np.array_equal(np.frombuffer((tmp_path / "f").read_bytes(), np.uint8), [120])
