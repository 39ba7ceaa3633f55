"""`brushwork gan ...` end to end at tiny sizes, and bad input: exit code 2, one stderr line, nothing lost."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.cli import main


TINY = ["--set", "model.g_width=4", "--set", "model.d_width=4", "--set", "model.z_dim=8", "--set", "data.img_size=8", "--batch-size", "8", "--threads", "1", "--quiet"]


def _train(tmp_path, *extra):
    return main(["gan", "train", "--preset", "dcgan-digits", *TINY, "--steps", "4", "--out", str(tmp_path / "runs"), "--name", "r", *extra])


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_error_line(capsys, match):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0] and match in err[0], err
    return err[0]


def test_train_sample_interpolate_export(tmp_path, capsys):
    assert _train(tmp_path, "--set", "model.conditional=true", "--set", "train.ema_decay=0.9") == 0
    run = tmp_path / "runs" / "r"
    assert json.loads((run / "run.json").read_text())["options"]["config"]["model"]["conditional"] is True
    assert main(["gan", "sample", str(run), "-n", "6", "-o", str(tmp_path / "g.png"), "--class", "3", "--truncation", "1.0", "--seed", "5"]) == 0
    with Image.open(tmp_path / "g.png") as im:
        assert im.size == (3 * 10 + 2, 2 * 10 + 2)  # 3 columns of 8 px tiles with 2 px padding
    assert main(["gan", "interpolate", str(run), "-o", str(tmp_path / "s.gif"), "--steps", "4"]) == 0
    with Image.open(tmp_path / "s.gif") as im:
        assert im.n_frames == 4
    assert main(["gan", "interpolate", str(run), "-o", str(tmp_path / "s.png"), "--steps", "5"]) == 0
    capsys.readouterr()
    assert main(["gan", "export", str(run), "-o", str(tmp_path / "g.onnx"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["max_abs_diff"] < 1e-4


def test_onnx_matches_sampling_api(tmp_path):
    import onnxruntime as ort

    from brushwork.gan.export import export_onnx
    from brushwork.gan.sample import load_generator, sample, truncated_normal

    assert _train(tmp_path) == 0
    gen = load_generator(tmp_path / "runs" / "r")
    export_onnx(gen, tmp_path / "g.onnx")
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    z = truncated_normal(5, gen.z_dim, None, torch.Generator().manual_seed(9))
    (onnx_out,) = session.run(None, {"z": z.numpy()})
    assert onnx_out.shape == (5, 1, 8, 8)
    assert torch.allclose(torch.from_numpy(onnx_out), sample(gen, 5, seed=9), atol=1e-5)


def test_resume_cli_refuses_changes_that_break_exactness(tmp_path, capsys):
    assert _train(tmp_path) == 0
    run = tmp_path / "runs" / "r"
    before = _digest(run)
    assert main(["gan", "train", "--resume", str(run), "--set", "train.lr_g=0.1", "--quiet"]) == 2
    _one_error_line(capsys, "cannot change train.lr_g")
    assert _digest(run) == before
    assert main(["gan", "train", "--resume", str(run), "--steps", "6", "--threads", "1", "--quiet"]) == 0
    assert (run / "checkpoints" / "step-00000006.json").exists()


def test_existing_run_is_never_overwritten(tmp_path, capsys):
    assert _train(tmp_path) == 0
    run = tmp_path / "runs" / "r"
    before = _digest(run)
    assert _train(tmp_path) == 2
    _one_error_line(capsys, "already exists")
    assert _digest(run) == before


def test_corrupted_checkpoint(tmp_path, capsys):
    assert _train(tmp_path) == 0
    run = tmp_path / "runs" / "r"
    tensors = sorted((run / "checkpoints").glob("*.safetensors"))[-1]
    data = bytearray(tensors.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tensors.write_bytes(bytes(data))
    before = _digest(run)
    for argv in (["gan", "sample", str(run), "-o", str(tmp_path / "x.png")], ["gan", "train", "--resume", str(run), "--steps", "8", "--quiet"]):
        assert main(argv) == 2
        _one_error_line(capsys, "corrupted checkpoint")
    assert _digest(run) == before
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "make,argv,match",
    [
        (None, ["gan", "sample", "{tmp}", "-o", "{tmp}/x.png"], "not a Brushwork run"),
        (None, ["gan", "train", "--resume", "{tmp}"], "not a Brushwork run"),
        ("toml_unknown", ["gan", "train", "--config", "{tmp}/c.toml", "--out", "{tmp}/runs"], "unknown key train.stepz"),
        ("toml_type", ["gan", "train", "--config", "{tmp}/c.toml", "--out", "{tmp}/runs"], "train.steps must be int"),
        ("yaml_bad", ["gan", "train", "--config", "{tmp}/c.yaml", "--out", "{tmp}/runs"], "cannot parse config"),
        ("empty_dir", ["gan", "train", "--preset", "sngan-folder", "--data", "{tmp}/empty", "--out", "{tmp}/runs"], "contains no images"),
        (None, ["gan", "train", "--preset", "dcgan-digits", "--set", "data.img_size=24", "--out", "{tmp}/runs"], "powers of two"),
        (None, ["gan", "train", "--preset", "nope", "--out", "{tmp}/runs"], "unknown preset"),
        (None, ["gan", "train", "--preset", "dcgan-digits", "--set", "train.loss=wasserstein", "--out", "{tmp}/runs"], "train.loss must be one of"),
        (None, ["gan", "train", "--preset", "dcgan-digits", "--set", "steps=3", "--out", "{tmp}/runs"], "section.key"),
    ],
)
def test_bad_input(tmp_path, capsys, make, argv, match):
    if make == "toml_unknown":
        (tmp_path / "c.toml").write_text('preset = "dcgan-digits"\n[train]\nstepz = 3\n')
    elif make == "toml_type":
        (tmp_path / "c.toml").write_text('preset = "dcgan-digits"\n[train]\nsteps = "ten"\n')
    elif make == "yaml_bad":
        (tmp_path / "c.yaml").write_text("train: [unclosed\n")
    elif make == "empty_dir":
        (tmp_path / "empty").mkdir()
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    _one_error_line(capsys, match)
    assert not (tmp_path / "runs").exists()  # nothing created for a refused run


def test_sngan_on_a_folder_with_a_broken_file(tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (20, 14 + i, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    argv = ["gan", "train", "--preset", "sngan-folder", "--data", str(folder), "--set", "model.g_width=4", "--set", "model.d_width=4", "--set", "model.z_dim=8", "--set", "data.img_size=8", "--batch-size", "4", "--steps", "3", "--threads", "1", "--out", str(tmp_path / "runs"), "--name", "s", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "brushwork: warning: skipping unreadable image" in captured.err and "UserWarning" not in captured.err
    out = json.loads(captured.out)
    assert out["skipped_images"] == 1 and out["step"] == 3
    assert main(["gan", "sample", str(tmp_path / "runs" / "s"), "-n", "4", "-o", str(tmp_path / "g.png"), "--no-ema"]) == 0
    assert main(["gan", "export", str(tmp_path / "runs" / "s"), "-o", str(tmp_path / "g.onnx")]) == 0


@pytest.mark.parametrize("preset", ["pacgan-ring", "pacgan-grid"])
def test_mixture_run_samples_a_scatter_plot_and_exports(tmp_path, capsys, preset):
    argv = ["gan", "train", "--preset", preset, "--set", "model.g_hidden=[8]", "--set", "model.d_hidden=[8]", "--set", "data.n_points=400", "--steps", "2", "--threads", "1", "--quiet", "--out", str(tmp_path), "--name", "m"]
    assert main(argv) == 0
    assert main(["gan", "sample", str(tmp_path / "m"), "-n", "50", "-o", str(tmp_path / "pts.png")]) == 0
    with Image.open(tmp_path / "pts.png") as im:
        assert im.size == (256, 256)
    assert main(["gan", "interpolate", str(tmp_path / "m"), "-o", str(tmp_path / "x.png")]) == 2
    _one_error_line(capsys, "needs an image generator")
    assert main(["gan", "export", str(tmp_path / "m"), "-o", str(tmp_path / "m.onnx")]) == 0
    assert main(["gan", "sample", str(tmp_path / "m"), "--class", "1", "-o", str(tmp_path / "y.png")]) == 2
    _one_error_line(capsys, "class-conditional")
