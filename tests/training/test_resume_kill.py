"""Exact resume, proved on real processes: a training run killed (``kill -9`` or SIGTERM)
right after a checkpoint and resumed with a plain ``--resume`` ends with every tensor of
its final checkpoint equal (bitwise) to an uninterrupted run's. Also: a run killed before
its first checkpoint resumes from step 0; a corrupt latest checkpoint falls back to the
intact older one with a warning; the process settings (threads, device, kernel flags) are
kept with the run and a resume that changes them says it will not match.

The reference runs use a checkpoint interval that is not a multiple of the killed run's
(and neither divides the step total), so checkpoints land at different steps in the two.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from brushwork.cli import main
from brushwork.errors import BrushworkError
from brushwork.training import runtime
from brushwork.training.checkpoint import list_checkpoints, resume_checkpoint, save_checkpoint
from conftest import needs_hed

GAN_STEPS = 100
GAN_ARGS = ["gan", "train", "--preset", "mlp-digits", "--steps", str(GAN_STEPS), "--seed", "3", "--threads", "1", "--quiet",
            "--set", "train.sample_every=1000", "--set", "train.diag_every=1000"]


def _env() -> dict[str, str]:
    """Subprocess environment: torch's default thread count is 8 there, so a resume that
    forgot the run's ``--threads 1`` would train on 8 threads; measured on the GAN case,
    42 of its 58 final tensors then differ (2 threads happen to give the same bits)."""
    return {**os.environ, "OMP_NUM_THREADS": "8", "PYTHONWARNINGS": "ignore"}


def _cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brushwork", *args], env=_env(), capture_output=True, text=True, timeout=300)


def _kill_after(args: list[str], run_dir: Path, sig: int, *, checkpoints: int = 1) -> int:
    """Start ``brushwork ARGS``, send ``sig`` as soon as ``run_dir`` holds ``checkpoints``
    checkpoints (0: as soon as its ``run.json`` exists); returns the newest checkpoint step then."""
    proc = subprocess.Popen([sys.executable, "-m", "brushwork", *args], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready = len(list_checkpoints(run_dir)) >= checkpoints if checkpoints else (run_dir / "run.json").is_file()
            if ready:
                proc.send_signal(sig)
                break
            time.sleep(0.005)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, f"the run finished before it could be killed:\n{err}"
    found = list_checkpoints(run_dir)
    return found[-1][0] if found else 0


def _final(run_dir: Path) -> dict[str, torch.Tensor]:
    step, path = list_checkpoints(run_dir)[-1]
    return {"_step": torch.tensor(step), **load_file(str(path.with_suffix(".safetensors")))}


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f"{len(differ)} of {len(a)} tensors differ, e.g. {differ[:3]}"


@pytest.fixture(scope="module")
def gan_reference(tmp_path_factory) -> dict[str, torch.Tensor]:
    """The uninterrupted GAN run (checkpoints every 40 steps)."""
    out = tmp_path_factory.mktemp("ref")
    done = _cli([*GAN_ARGS, "--set", "train.ckpt_every=40", "--out", str(out), "--name", "ref"])
    assert done.returncode == 0, done.stderr
    return _final(out / "ref")


def _resume_gan(run: Path) -> subprocess.CompletedProcess:
    done = _cli(["gan", "train", "--resume", str(run), "--quiet"])
    assert done.returncode == 0, done.stderr
    return done


# --------------------------------------------------------------------------- GAN, real processes


def test_gan_kill9_after_checkpoint_resumes_bitwise(tmp_path, gan_reference):
    run = tmp_path / "k"
    step = _kill_after([*GAN_ARGS, "--set", "train.ckpt_every=23", "--out", str(tmp_path), "--name", "k"], run, signal.SIGKILL)
    assert 23 <= step < GAN_STEPS
    done = _resume_gan(run)
    assert "bitwise" not in done.stderr  # nothing was overridden
    _assert_same(_final(run), gan_reference)


@pytest.mark.slow
def test_gan_sigterm_checkpoints_where_it_stopped_and_resumes_bitwise(tmp_path, gan_reference):
    run = tmp_path / "t"
    step = _kill_after([*GAN_ARGS, "--set", "train.ckpt_every=37", "--out", str(tmp_path), "--name", "t"], run, signal.SIGTERM)
    assert step < GAN_STEPS
    _resume_gan(run)
    _assert_same(_final(run), gan_reference)


@pytest.mark.slow
def test_gan_killed_before_first_checkpoint_resumes_from_step_zero(tmp_path, gan_reference):
    run = tmp_path / "early"
    _kill_after([*GAN_ARGS, "--set", "train.ckpt_every=1000", "--out", str(tmp_path), "--name", "early"], run, signal.SIGKILL, checkpoints=0)
    assert not list_checkpoints(run)
    _resume_gan(run)
    _assert_same(_final(run), gan_reference)


@pytest.mark.slow
def test_gan_corrupt_latest_checkpoint_falls_back_and_still_matches(tmp_path, gan_reference):
    run = tmp_path / "c"
    step = _kill_after([*GAN_ARGS, "--set", "train.ckpt_every=29", "--out", str(tmp_path), "--name", "c"], run, signal.SIGKILL, checkpoints=2)
    older, newest = [p for _, p in list_checkpoints(run)[-2:]]
    tensors = newest.with_suffix(".safetensors")
    data = bytearray(tensors.read_bytes())
    data[-5] ^= 0xFF
    tensors.write_bytes(bytes(data))
    done = _resume_gan(run)
    lines = [line for line in done.stderr.splitlines() if "corrupt" in line]
    assert len(lines) == 1 and newest.name in lines[0] and older.stem in lines[0], done.stderr
    assert (run / "checkpoints" / (newest.name + ".corrupt")).is_file() and step > 29
    _assert_same(_final(run), gan_reference)


# --------------------------------------------------------------------------- the other trainers


def _photos(folder: Path, n: int, seed: int, size: int = 40) -> Path:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        y, x = np.mgrid[0:size, 0 : size + 8]
        base = np.stack([x * (3 + i), y * (4 + i), (x + y) * 2], axis=2) + rng.integers(0, 60, (size, size + 8, 3))
        Image.fromarray((base % 256).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def _resume_matches(tmp_path: Path, start: list[str], resume: list[str], run: Path, model: Path, interval: int, ref_interval: int, sig: int) -> None:
    """Reference run (``ref_interval``), then a run killed after its first ``interval`` checkpoint
    and resumed with ``resume``; the two final checkpoints must hold the same tensors."""
    ref_model = tmp_path / "ref"
    done = _cli([*start, str(ref_model), "--ckpt-every", str(ref_interval)])
    assert done.returncode == 0, done.stderr
    ref_run = ref_model / run.relative_to(model) if run != model else ref_model
    _kill_after([*start, str(model), "--ckpt-every", str(interval)], run, sig)
    done = _cli(resume)
    assert done.returncode == 0 and "bitwise" not in done.stderr, done.stderr
    _assert_same(_final(run), _final(ref_run))


@needs_hed
@pytest.mark.slow
@pytest.mark.parametrize("kind, sig", [("fast", signal.SIGKILL), ("adain", signal.SIGTERM)])
def test_style_trainers_resume_bitwise_after_kill(tmp_path, kind, sig):
    content, styles = _photos(tmp_path / "content", 3, 0), _photos(tmp_path / "styles", 2, 1, 36)
    if kind == "fast":
        start = ["style", "train-fast", "--style", str(styles / "0.png")]
    else:
        start = ["style", "train-adain", "--styles", str(styles), "--width", "0.125"]
    start += ["--content", str(content), "--size", "32", "--batch", "1", "--steps", "40", "--preview-every", "1000", "--threads", "1", "--quiet", "--out"]
    model = tmp_path / "model"
    _resume_matches(tmp_path, start, [start[0], start[1], "--out", str(model), "--resume", "--quiet"], model / "run", model, 7, 11, sig)


@pytest.mark.slow
def test_translate_resume_bitwise_after_kill9(tmp_path):
    assert main(["translate", "make-data", str(tmp_path / "data"), "--size", "36", "--train", "4", "--test", "1"]) == 0
    start = ["translate", "train", "--a", str(tmp_path / "data" / "trainA"), "--b", str(tmp_path / "data" / "trainB"), "--size", "32",
             "--width", "4", "--steps", "40", "--amp", "off", "--threads", "1", "--quiet", "--out"]
    run = tmp_path / "run"
    _resume_matches(tmp_path, start, ["translate", "train", "--out", str(run), "--resume", "--quiet"], run, run, 7, 11, signal.SIGKILL)


# --------------------------------------------------------------------------- in-process parts


def test_resume_checkpoint_skips_a_corrupt_newest_one(tmp_path):
    for step in (3, 6):
        save_checkpoint(tmp_path, step, {"w": torch.full((4,), float(step))}, {"x": step})
    assert resume_checkpoint(tmp_path, pytest.fail).name == "step-00000006.json"
    newest = tmp_path / "checkpoints" / "step-00000006.safetensors"
    newest.write_bytes(newest.read_bytes()[:-3])  # torn write
    lines: list[str] = []
    assert resume_checkpoint(tmp_path, lines.append).name == "step-00000003.json"
    assert len(lines) == 1 and "step-00000006.json" in lines[0] and "step-00000003" in lines[0]
    assert [s for s, _ in list_checkpoints(tmp_path)] == [3]  # the corrupted one is out of the way
    assert (tmp_path / "checkpoints" / "step-00000006.json.corrupt").is_file()
    only = tmp_path / "checkpoints" / "step-00000003.json"
    only.write_text("{not json")
    with pytest.raises(BrushworkError, match="no intact checkpoint"):
        resume_checkpoint(tmp_path, lines.append)
    assert resume_checkpoint(tmp_path / "fresh", pytest.fail) is None  # killed before the first one


def test_runtime_is_restored_and_an_override_warns_once(monkeypatch):
    threads = torch.get_num_threads()
    saved = runtime.capture(1, "cpu")
    try:
        assert saved["threads"] == 1 and saved["device"] == "cpu" and "float32_matmul_precision" in saved
        torch.set_num_threads(2)
        lines: list[str] = []
        assert runtime.restore(saved, threads=0, device="auto", warn=lines.append) == "cpu"
        assert torch.get_num_threads() == 1 and lines == []
        runtime.restore(saved, threads=2, device="auto", warn=lines.append)
        assert torch.get_num_threads() == 2 and len(lines) == 1 and "--threads 2" in lines[0] and "bitwise" in lines[0]
        lines.clear()
        runtime.restore({**saved, "torch": "0.0"}, threads=0, device="cpu", warn=lines.append)
        assert len(lines) == 1 and "PyTorch 0.0" in lines[0]
        assert runtime.restore(None, threads=0, device="auto", warn=pytest.fail) == "auto"  # runs from before
    finally:
        torch.set_num_threads(threads)


def test_gan_run_stopped_before_its_first_checkpoint_resumes_in_process(tmp_path, capsys):
    args = ["gan", "train", "--preset", "mlp-digits", "--steps", "6", "--seed", "1", "--threads", "1", "--quiet", "--out", str(tmp_path), "--name", "r"]
    assert main(args) == 0
    run = tmp_path / "r"
    reference = _final(run)
    for _, p in list_checkpoints(run):  # as a run killed before its first checkpoint leaves it
        p.unlink()
        p.with_suffix(".safetensors").unlink()
    assert main(args) == 2 and "resume it with --resume" in capsys.readouterr().err  # never started over
    assert main(["gan", "train", "--resume", str(run), "--quiet"]) == 0
    _assert_same(_final(run), reference)
    assert main(["gan", "train", "--resume", str(run), "--steps", "7", "--threads", "2", "--quiet"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "bitwise" in line]
    assert len(warned) == 1 and "--threads 2" in warned[0] and "run's 1" in warned[0]


def test_style_resume_refuses_run_defining_options_instead_of_ignoring_them(tmp_path, capsys):
    code = main(["style", "train-fast", "--out", str(tmp_path / "m"), "--resume", "--size", "64"])
    assert code == 2 and "--size cannot change when resuming" in capsys.readouterr().err
