"""`brushwork train gan|translate|fast|adain`: presets, config files, --set, dry runs, short runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brushwork.cli import main
from brushwork.config import preset_names
from brushwork.training.checkpoint import list_checkpoints
from conftest import needs_hed, write_rgb

TINY_GAN = ["--set", "model.g_hidden=[8]", "--set", "model.d_hidden=[8]", "--set", "data.img_size=8", "--set", "train.batch_size=8",
            "--set", "train.ckpt_every=100", "--set", "train.sample_every=100", "--set", "train.diag_every=100"]


def _dry(capsys, args):
    code = main(["train", *args, "--dry-run", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)["config"]


def _fails(capsys, args):
    code = main(["train", *args])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_unknown_key_in_a_file_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "g.toml").write_text('preset = "dcgan-digits"\n[train]\nstepz = 3\n')
    assert "unknown key train.stepz" in _fails(capsys, ["gan", "--config", str(tmp_path / "g.toml"), "--dry-run"])
    (tmp_path / "f.toml").write_text("size = 64\ncolour = 1\n")
    assert "unknown key 'colour'" in _fails(capsys, ["fast", "--config", str(tmp_path / "f.toml"), "--dry-run"])


def test_wrong_type_names_the_key(tmp_path, capsys):
    (tmp_path / "g.yaml").write_text("preset: mlp-digits\ntrain:\n  batch_size: lots\n")
    assert "train.batch_size must be int" in _fails(capsys, ["gan", "--config", str(tmp_path / "g.yaml"), "--dry-run"])
    assert "size must be int" in _fails(capsys, ["translate", "--set", "size=big", "--dry-run"])


def test_set_overrides_the_preset_and_the_file(tmp_path, capsys):
    assert _dry(capsys, ["gan", "--preset", "dcgan-digits", "--set", "train.steps=2"])["train"]["steps"] == 2
    (tmp_path / "g.toml").write_text('preset = "mlp-digits"\n[train]\nsteps = 7\nseed = 3\n')
    cfg = _dry(capsys, ["gan", "--config", str(tmp_path / "g.toml"), "--set", "train.steps=2"])
    assert (cfg["train"]["steps"], cfg["train"]["seed"], cfg["model"]["arch"]) == (2, 3, "mlp")
    (tmp_path / "f.toml").write_text('extends = "johnson"\nsteps = 9\n')
    cfg = _dry(capsys, ["fast", "--config", str(tmp_path / "f.toml"), "--set", "lr=0.01"])
    assert (cfg["preset"], cfg["steps"], cfg["lr"], cfg["kind"]) == ("johnson", 9, 0.01, "fast")


def test_bad_values_are_refused_naming_the_field(capsys):
    assert "batch_size" in _fails(capsys, ["translate", "--set", "batch_size=0", "--dry-run"])
    assert "kind must be fast" in _fails(capsys, ["fast", "--set", "kind=adain", "--dry-run"])
    assert "unknown preset" in _fails(capsys, ["adain", "--preset", "nope", "--dry-run"])


@pytest.mark.parametrize("trainer", ["gan", "translate", "fast", "adain"])
def test_every_preset_resolves_and_validates(trainer, capsys):
    names = preset_names(trainer)
    assert names
    for name in names:
        extra = ["--set", "data.path=somewhere"] if name.endswith("-folder") else []
        cfg = _dry(capsys, [trainer, "--preset", name, *extra])
        if trainer == "gan":
            assert cfg["name"] == name
        if trainer in ("fast", "adain"):
            assert cfg["kind"] == trainer


def test_translate_defaults_are_those_of_a_new_run(capsys):
    """A preset run gets today's networks, not the legacy defaults that old saved configs are read with."""
    cfg = _dry(capsys, ["translate"])
    assert (cfg["model"], cfg["size"], cfg["input_skip"], cfg["d_layers"]) == ("cyclegan", 256, True, 3)
    assert _dry(capsys, ["translate", "--preset", "pix2pix-default"])["gan_loss"] == "vanilla"


def test_gan_two_steps_end_to_end_and_resume(tmp_path, capsys):
    run = tmp_path / "g1"
    code = main(["train", "gan", "--preset", "mlp-digits", *TINY_GAN, "--set", "train.steps=2", "--out", str(run), "--threads", "1", "--quiet", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["step"] == 2
    assert (run / "run.json").is_file() and [s for s, _ in list_checkpoints(run)] == [2]
    assert main(["train", "gan", "--out", str(run), "--resume", "--set", "train.steps=3", "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 3
    assert main(["train", "gan", "--out", str(run), "--resume", "--set", "model.z_dim=3", "--quiet"]) == 2
    assert "cannot change model.z_dim" in capsys.readouterr().err


def _images(folder, n, seed, size=(40, 48)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        write_rgb(folder / f"{i}.png", rng.integers(0, 256, (*size, 3)).astype(np.uint8))
    return folder


def test_fast_needs_its_data(tmp_path, capsys):
    assert "content and style are required" in _fails(capsys, ["fast", "--out", str(tmp_path / "m")])


@needs_hed
def test_fast_two_steps_end_to_end(tmp_path, capsys):
    content, styles = _images(tmp_path / "c", 2, 0), _images(tmp_path / "s", 1, 1)
    out = tmp_path / "model"
    args = ["train", "fast", "--set", f"content={content}", "--set", f"style={styles / '0.png'}", "--set", "size=32", "--set", "style_size=32",
            "--set", "batch_size=1", "--set", "steps=2", "--set", "sample_every=2", "--out", str(out), "--threads", "1", "--quiet", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 2
    assert (out / "run" / "run.json").is_file() and (out / "config.json").is_file()
    assert main(["train", "fast", "--out", str(out), "--resume", "--set", "steps=3", "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 3
