"""Trainers write hub model folders at every checkpoint; `gan sample|interpolate|export`,
`translate apply|export` and the studio take a model folder as well as a run folder, and old
run folders (no model folder) keep working."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from brushwork import models as M
from brushwork.cli import main

GAN_TINY = ["--set", "model.g_width=4", "--set", "model.d_width=4", "--set", "model.z_dim=8", "--set", "data.img_size=8",
            "--set", "train.ckpt_every=3", "--batch-size", "8", "--threads", "1", "--quiet"]
TR_TINY = ["--size", "32", "--width", "4", "--amp", "off", "--ckpt-every", "2", "-q"]


def _pixels(path):
    return np.asarray(Image.open(path))


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan")
    assert main(["gan", "train", "--preset", "dcgan-digits", *GAN_TINY, "--steps", "4", "--out", str(root), "--name", "r"]) == 0
    return root / "r"


@pytest.fixture(scope="module")
def cycle_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tr")
    assert main(["translate", "make-data", str(root / "task"), "--size", "36", "--train", "4", "--test", "2"]) == 0
    run = root / "run"
    assert main(["translate", "train", "--model", "cyclegan", "--a", str(root / "task" / "trainA"), "--b", str(root / "task" / "trainB"),
                 "--out", str(run), "--steps", "3", *TR_TINY]) == 0
    return run, root / "task"


def test_gan_trainer_writes_the_ema_generator_at_every_checkpoint(gan_run):
    record = M.read_config(gan_run / "model")
    assert record["kind"] == "gan-generator" and record["backbone"] is None
    prov = record["provenance"]
    assert prov["step"] == 4 and prov["ema"] is True and prov["source"] == "r" and "trained" in prov["how"]
    assert record["config"]["sample_shape"] == [1, 8, 8] and record["config"]["gan"]["model"]["g_width"] == 4
    assert not [p for p in gan_run.iterdir() if p.name.startswith(".")]


def test_gan_commands_take_a_model_folder_and_an_old_run(gan_run, tmp_path, capsys):
    old = tmp_path / "old"
    shutil.copytree(gan_run, old)
    shutil.rmtree(old / "model")  # a run folder written before model folders existed
    for i, source in enumerate([gan_run, gan_run / "model", old]):
        assert main(["gan", "sample", str(source), "-n", "4", "-o", str(tmp_path / f"s{i}.png"), "--seed", "5"]) == 0
        assert main(["gan", "interpolate", str(source), "-o", str(tmp_path / f"i{i}.png"), "--steps", "3"]) == 0
    for prefix in ("s", "i"):
        ref = _pixels(tmp_path / f"{prefix}0.png")
        assert np.array_equal(_pixels(tmp_path / f"{prefix}1.png"), ref) and np.array_equal(_pixels(tmp_path / f"{prefix}2.png"), ref)
    assert main(["gan", "export", str(gan_run / "model"), "-o", str(tmp_path / "g.onnx"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["max_abs_diff"] < 1e-4
    assert main(["gan", "sample", str(gan_run / "model"), "--no-ema", "-o", str(tmp_path / "x.png")]) == 2
    assert "holds the EMA weights only" in capsys.readouterr().err


def test_translation_trainer_writes_one_model_folder_per_direction(cycle_run):
    run, _ = cycle_run
    for direction in ("a2b", "b2a"):
        record = M.read_config(run / f"model-{direction}")
        assert record["kind"] == "translator" and record["config"]["direction"] == direction
        assert record["provenance"]["step"] == 3 and record["config"]["translate"]["ngf"] == 4


def test_translate_commands_take_a_model_folder_and_an_old_run(cycle_run, tmp_path, capsys):
    run, task = cycle_run
    old = tmp_path / "old"
    shutil.copytree(run, old)
    for p in old.glob("model-*"):
        shutil.rmtree(p)
    for direction in ("a2b", "b2a"):
        outs = []
        for i, source in enumerate([run, run / f"model-{direction}", old]):
            out = tmp_path / f"{direction}-{i}"
            assert main(["translate", "apply", str(source), str(task / "testA"), "-o", str(out), "--direction", direction]) == 0
            outs.append(sorted(out.iterdir()))
        assert len(outs[0]) == 2
        for a, b, c in zip(*outs):
            assert np.array_equal(_pixels(a), _pixels(b)) and np.array_equal(_pixels(a), _pixels(c))
    capsys.readouterr()
    assert main(["translate", "apply", str(run / "model-b2a"), str(task / "testA"), "-o", str(tmp_path / "x"), "--direction", "a2b"]) == 2
    assert "translates b2a, not a2b" in capsys.readouterr().err
    assert main(["translate", "apply", str(run / "model-b2a"), str(task / "testA"), "-o", str(tmp_path / "own"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["direction"] == "b2a"  # a model folder's own direction by default
    for a, b in zip(sorted((tmp_path / "own").iterdir()), sorted((tmp_path / "b2a-0").iterdir())):
        assert np.array_equal(_pixels(a), _pixels(b))
    assert main(["translate", "export", str(run / "model-b2a"), "-o", str(tmp_path / "t.onnx"), "--json"]) == 0


def test_apply_does_not_import_the_trainer():
    import subprocess
    import sys

    code = "import sys, brushwork.translate.apply; print('brushwork.translate.train' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_studio_lists_model_folders(gan_run, cycle_run, tmp_path):
    from brushwork.web.gan import GanRuns
    from brushwork.web.methods import translation_methods

    runs = tmp_path / "data" / "runs"
    runs.mkdir(parents=True)
    shutil.copytree(gan_run / "model", runs / "digits")
    shutil.copytree(cycle_run[0] / "model-b2a", runs / "photo2paint")
    listed = GanRuns(tmp_path / "data").list()
    assert [(r["name"], r["step"], r["ema"]) for r in listed] == [("digits", 4, True)]
    assert list(translation_methods(runs)) == ["translate:photo2paint:b2a"]
