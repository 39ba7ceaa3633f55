"""Nothing a user hands Brushwork crashes it, loses a file or eats the machine.

Full disks and read-only folders (real tmpfs mounts where allowed, else a shim), folders
with bad files, hostile model and run files, bad ``--set`` values, images too large for the
memory, wrong-size masks, pickles, warnings (property-based fuzzing of the config
loaders and the CLI's numeric options: ``test_hostile_fuzz.py``). Every failure must be exit
code 2 with one stderr line, no traceback, and no file changed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork import fsutil
from brushwork.cli import main
from brushwork.errors import BrushworkError
from brushwork.imageio import load_image, save_image
from brushwork.models import save_pretrained
from brushwork.style.fast import FastConfig, TransformerNet
from brushwork.training.checkpoint import list_checkpoints

from conftest import needs_hed
from fs_faults import fill, hidden_files, no_space, read_only, tmpfs

TINY_FAST = FastConfig(channels=(4, 8, 8), residual_blocks=1, edge_kernel=3)
GAN_TINY = ["--preset", "dcgan-digits", "--set", "model.g_width=4", "--set", "model.d_width=4", "--set", "model.z_dim=8",
            "--set", "data.img_size=8", "--batch-size", "8", "--threads", "1", "-q"]


class Evil:
    """A class a hostile pickle asks for."""


def _cli(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Warning:" not in captured.err, captured.err
    return code, captured.out, captured.err


def _fails(argv, capsys, match: str) -> str:
    code, _, err = _cli(argv, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], err
    return lines[0]


@pytest.fixture(scope="module")
def fast_model(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("models") / "tiny-fast"
    torch.manual_seed(0)
    save_pretrained(TransformerNet(TINY_FAST).eval(), d, backbone="vgg16-hed")
    return d


@pytest.fixture
def photo(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    return _write(tmp_path / "photo.png", rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))


def _write(path: Path, arr: np.ndarray, **kw) -> Path:
    Image.fromarray(arr).save(path, **kw)
    return path


def _photo_folder(folder: Path) -> Path:
    """``0-bad.png`` (garbage, first), ``a.png``, ``b.jpg`` and ``c-empty.png``."""
    folder.mkdir()
    rng = np.random.default_rng(1)
    (folder / "0-bad.png").write_bytes(b"\x89PNG garbage")
    _write(folder / "a.png", rng.integers(0, 255, (20, 24, 3), dtype=np.uint8))
    _write(folder / "b.jpg", rng.integers(0, 255, (16, 20, 3), dtype=np.uint8))
    (folder / "c-empty.png").write_bytes(b"")
    return folder


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` RGB pixels (the data is a few bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------- full disk, unwritable output


def test_fast_stylize_on_a_full_disk_keeps_the_old_output(tmp_path, photo, fast_model, capsys):
    with tmpfs(tmp_path / "disk", 96) as disk:
        out = disk / "out.jpg"
        save_image(torch.full((3, 8, 8), 0.3), out)
        before = out.read_bytes()
        fill(disk, leave=4096)
        line = _fails(["stylize", photo, "--method", "fast", "--model", fast_model, "-o", out, "-q"], capsys, "out.jpg: cannot write")
        assert "no space left on device" in line
        assert out.read_bytes() == before and hidden_files(disk) == []


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".bmp", ".tif"])
def test_full_disk_shim_every_format(tmp_path, photo, fast_model, capsys, monkeypatch, suffix):
    out = tmp_path / f"out{suffix}"
    save_image(torch.full((3, 8, 8), 0.3), out)
    before = out.read_bytes()
    monkeypatch.setattr(fsutil.os, "fsync", no_space)
    _fails(["stylize", photo, "--method", "fast", "--model", fast_model, "-o", out, "-q"], capsys, "cannot write (no space left on device)")
    assert out.read_bytes() == before and hidden_files(tmp_path) == []


def test_unwritable_output_fails_before_the_work(tmp_path, photo, capsys, monkeypatch):
    """The output is reserved right after parsing: the missing style image is never reached."""
    with tmpfs(tmp_path / "ro", 64, read_only=True) as ro:
        _fails(["stylize", photo, tmp_path / "missing-style.jpg", "-o", ro / "out.png"], capsys, "read-only file system")
        _fails(["stylize", photo.parent, tmp_path / "missing-style.jpg", "-o", ro / "outs"], capsys, "read-only file system")
    monkeypatch.setattr(fsutil, "_new_temp", read_only)
    _fails(["stylize", photo, tmp_path / "missing-style.jpg", "-o", tmp_path / "new" / "out.png"], capsys, "out.png: cannot write (read-only file system)")
    assert not (tmp_path / "new").exists()


def test_gan_training_on_a_full_disk_keeps_its_checkpoint_and_resumes(tmp_path, capsys, monkeypatch):
    run = tmp_path / "runs" / "g"
    real_commit, calls = fsutil._commit, []

    def commit(tmp, path, *args):
        if path.suffix == ".safetensors" and path.parent.name == "checkpoints":
            calls.append(path.name)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_commit(tmp, path, *args)

    monkeypatch.setattr(fsutil, "_commit", commit)
    argv = ["gan", "train", *GAN_TINY, "--steps", "6", "--set", "train.ckpt_every=2", "--out", tmp_path / "runs", "--name", "g"]
    _fails(argv, capsys, "step-00000004.safetensors: cannot write (no space left on device)")
    assert [s for s, _ in list_checkpoints(run)] == [2]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-00000002.json", "step-00000002.safetensors"]
    monkeypatch.setattr(fsutil, "_commit", real_commit)  # space is free again
    code, _, err = _cli(["gan", "train", "--resume", run, "--threads", "1", "-q"], capsys)
    assert code == 0, err
    assert [s for s, _ in list_checkpoints(run)][-1] == 6


# --------------------------------------------------------------------------- folders with bad files


def test_fast_folder_batch_finishes_and_reports_every_file(tmp_path, fast_model, capsys):
    src = _photo_folder(tmp_path / "in")
    out = tmp_path / "out"
    code, stdout, err = _cli(["stylize", src, "--method", "fast", "--model", fast_model, "-o", out, "--size", "24", "-q", "--json"], capsys)
    assert code == 2
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    lines = err.strip().splitlines()
    assert len(lines) == 3 and "0-bad.png" in lines[0] and "c-empty.png: file is empty" in lines[1]
    assert lines[2] == f"brushwork: error: 2 of 4 image(s) written to {out}; 2 failed"
    report = json.loads(stdout)
    assert [(Path(f["input"]).name, f["status"]) for f in report["files"]] == [("0-bad.png", "failed"), ("a.png", "ok"), ("b.jpg", "ok"), ("c-empty.png", "failed")]
    assert report["written"] == 2 and report["failed"] == 2 and all(f.get("reason") for f in report["files"] if f["status"] == "failed")
    with Image.open(out / "a.png") as im:
        assert im.size == (24, 20)


@needs_hed
def test_optimise_folder_batch_does_not_stop_at_a_bad_file(tmp_path, capsys):
    src = _photo_folder(tmp_path / "in")
    style = _write(tmp_path / "style.png", ((np.mgrid[0:32, 0:32][1] // 4 % 2) * 255).astype(np.uint8).repeat(3).reshape(32, 32, 3))
    argv = ["stylize", src, style, "-o", tmp_path / "out", "--size", "24", "--min-size", "16", "--initial-iterations", "2", "--iterations", "1", "-q"]
    code, _, err = _cli(argv, capsys)
    assert code == 2 and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]
    assert err.strip().splitlines()[-1].endswith("2 of 4 image(s) written to " + str(tmp_path / "out") + "; 2 failed")


def test_translate_apply_folder_reports_bad_files(tmp_path, capsys):
    task = tmp_path / "task"
    assert main(["translate", "make-data", str(task), "--size", "36", "--train", "4", "--test", "2"]) == 0
    run = tmp_path / "run"
    assert main(["translate", "train", "--a", str(task / "trainA"), "--b", str(task / "trainB"), "--out", str(run), "--steps", "1", "--size", "32", "--width", "4", "--amp", "off", "-q"]) == 0
    src = _photo_folder(tmp_path / "in")
    capsys.readouterr()
    code, stdout, err = _cli(["translate", "apply", run, src, "-o", tmp_path / "out", "--json"], capsys)
    assert code == 2 and "UserWarning" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 3 and lines[-1].endswith("; 2 failed")
    report = json.loads(stdout)
    assert [f["status"] for f in report["files"]] == ["failed", "ok", "ok", "failed"] and len(report["written"]) == 2


# --------------------------------------------------------------------------- hostile model folders and run files


@pytest.mark.parametrize(
    "config,match",
    [
        ({"channels": [8, 8, 8], "residual_blocks": 1_000_000, "edge_kernel": 3}, "residual_blocks must be between 0 and 64"),
        ({"channels": [8, -3, 8], "residual_blocks": 1, "edge_kernel": 3}, "channels[1] must be between 1 and 1024"),
        ({"channels": [10**9, 8, 8], "residual_blocks": 1, "edge_kernel": 3}, "channels[0] must be between 1 and 1024"),
        ({"channels": "abc", "residual_blocks": 1, "edge_kernel": 3}, "channels must be a list"),
        ({"channels": [8, 8, 8], "residual_blocks": "x", "edge_kernel": 3}, "residual_blocks must be a whole number"),
        ({"channels": [1024, 1024, 1024], "residual_blocks": 64, "edge_kernel": 15}, "of memory, more than"),
    ],
)
def test_hostile_fast_model_config(tmp_path, photo, fast_model, capsys, monkeypatch, config, match):
    monkeypatch.setenv("BRUSHWORK_MEMORY_LIMIT", str(2 * 1024**3))
    d = tmp_path / "hostile"
    shutil.copytree(fast_model, d)
    record = json.loads((d / "config.json").read_text())
    record["config"] = config
    (d / "config.json").write_text(json.dumps(record))
    _fails(["stylize", photo, "--method", "fast", "--model", d, "-o", tmp_path / "o.png", "-q"], capsys, match)
    assert not (tmp_path / "o.png").exists()


def test_network_memory_is_checked_at_the_requested_size(tmp_path, photo, fast_model, capsys, monkeypatch):
    monkeypatch.setenv("BRUSHWORK_MEMORY_LIMIT", str(64 * 1024**2))
    _fails(["stylize", photo, "--method", "fast", "--model", fast_model, "-o", tmp_path / "o.png", "--size", "4000", "-q"], capsys, "stylising a 4000x3000 image needs about")
    code, _, err = _cli(["stylize", photo, "--method", "fast", "--model", fast_model, "-o", tmp_path / "o.png", "--size", "64", "-q"], capsys)
    assert code == 0, err


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gan")
    assert main(["gan", "train", *GAN_TINY, "--steps", "2", "--out", str(out), "--name", "r"]) == 0
    return out / "r"


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda s: s.update(step="x"), "step must be a whole number"),
        (lambda s: s.update(step=-4), "step must be a whole number"),
        (lambda s: s.update(sample_shape=[1, -8, 8]), "sample_shape[1] must be between 1 and 4096"),
        (lambda s: s.update(sample_shape=[3, 4096, 4096]), "image size 4096 px: this model makes powers of two"),
        (lambda s: s.update(sample_shape="big"), "sample_shape must be [D] or [C, H, W]"),
        (lambda s: s.update(num_classes="a"), "num_classes must be a whole number"),
        (lambda s: s["config"]["model"].update(g_width=-5), "model.g_width must be between 1 and 2048"),
        (lambda s: s["config"]["model"].update(g_width=2048, z_dim=4096), "of memory, more than"),
        (lambda s: s["config"]["train"].update(lr_g=float("nan")), "train.lr_g must be a finite number"),
    ],
)
def test_hostile_gan_run_files(tmp_path, gan_run, capsys, monkeypatch, edit, match):
    monkeypatch.setenv("BRUSHWORK_MEMORY_LIMIT", str(256 * 1024**2))
    run = tmp_path / "run"
    shutil.copytree(gan_run, run)
    state_file = list_checkpoints(run)[-1][1]
    state = json.loads(state_file.read_text())
    edit(state)
    state_file.write_text(json.dumps(state))
    _fails(["gan", "sample", run, "-n", "2", "-o", tmp_path / "g.png"], capsys, match)
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize(
    "setting,match",
    [
        ("model.g_hidden=[128,-5]", "model.g_hidden[1] must be between 1 and 16384"),
        ("train.lr_g=nan", "train.lr_g must be a finite number"),
        ("train.lr_d=.inf", "train.lr_d must be a finite number"),
        ("model.z_dim=x", "model.z_dim must be int"),
        ("data.img_size=100000", "data.img_size must be between 4 and 1024"),
        ("model.g_width=2048", "of memory, more than"),
    ],
)
def test_bad_set_values_create_nothing(tmp_path, capsys, monkeypatch, setting, match):
    monkeypatch.setenv("BRUSHWORK_MEMORY_LIMIT", str(2 * 1024**2))  # the tiny networks need a few hundred KB
    argv = ["gan", "train", *GAN_TINY, "--steps", "1", "--out", tmp_path / "runs", "--set", setting]
    if setting.startswith("model.g_hidden"):
        argv[3] = "mlp-digits"
    _fails(argv, capsys, match)
    assert not (tmp_path / "runs").exists()


def test_a_failed_start_leaves_its_name_free(tmp_path, capsys):
    argv = ["gan", "train", *GAN_TINY, "--steps", "1", "--out", tmp_path / "runs", "--name", "x"]
    _fails([*argv, "--batch-size", "4000"], capsys, "smaller than one batch of 4000")
    assert not (tmp_path / "runs" / "x").exists()
    code, _, err = _cli(argv, capsys)
    assert code == 0, err


# --------------------------------------------------------------------------- memory before decoding, masks, options


def test_image_too_large_for_the_memory_is_refused_from_its_header(tmp_path, fast_model, capsys, monkeypatch):
    monkeypatch.setenv("BRUSHWORK_MEMORY_LIMIT", str(8 * 1024**3))
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header(30000, 30000))
    with pytest.raises(BrushworkError, match=r"bomb.png: decoding this 30000x30000 image needs about 3\d\.\d GB of memory, more than the 8.0 GB available"):
        load_image(bomb, max_pixels=10**9)
    _fails(["stylize", bomb, "--method", "fast", "--model", fast_model, "-o", tmp_path / "o.png", "--max-pixels", "1000000000", "-q"], capsys, "of memory")
    assert load_image(_write(tmp_path / "small.png", np.zeros((4, 4, 3), np.uint8))).size == (4, 4)


@needs_hed
def test_adain_mask_of_the_wrong_size_is_refused(tmp_path, photo, capsys):
    rng = np.random.default_rng(2)
    s1 = _write(tmp_path / "s1.png", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    s2 = _write(tmp_path / "s2.png", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    mask = _write(tmp_path / "mask.png", np.zeros((10, 30), np.uint8))
    _fails(["stylize", photo, s1, s2, "--method", "adain", "--mask", mask, "-o", tmp_path / "o.png", "-q"], capsys, "mask is 30x10 but the content is 64x48; they must match")
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("option,value", [("--iterations", "0"), ("--initial-iterations", "0"), ("--lr", "nan"), ("--style-weight", "inf")])
def test_positive_options_are_positive(tmp_path, photo, capsys, option, value):
    line = _fails(["stylize", photo, photo, "-o", tmp_path / "o.png", option, value, "-q"], capsys, "must be")
    assert "positive" in line or "finite" in line


def test_pickle_refusal_names_the_global(tmp_path, photo, capsys):
    evil = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(2), "payload": Evil()}, evil)
    line = _fails(["stylize", photo, photo, "-o", tmp_path / "o.png", "--backbone", evil, "-q"], capsys, "evil.pth: refused")
    assert "Evil" in line and "nothing was loaded" in line and "weights_only=False" not in line


def test_warnings_are_one_line_and_quiet_silences_them(tmp_path, fast_model, capsys):
    odd = _write(tmp_path / "odd.png", np.full((16, 16, 3), 128, np.uint8), icc_profile=b"not an icc profile")
    code, _, err = _cli(["stylize", odd, "--method", "fast", "--model", fast_model, "-o", tmp_path / "o.png"], capsys)
    assert code == 0
    warning = [line for line in err.splitlines() if not line.startswith(str(tmp_path / "o.png"))]  # the rest is the output's line
    assert len(warning) == 1 and warning[0].startswith("brushwork: warning: ") and "ICC profile" in warning[0] and ".py" not in warning[0]
    code, _, err = _cli(["stylize", odd, "--method", "fast", "--model", fast_model, "-o", tmp_path / "o.png", "-q"], capsys)
    assert code == 0 and err == ""
