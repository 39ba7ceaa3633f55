"""`brushwork translate ...` end to end on tiny runs, and its answers to bad input."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.cli import main
from brushwork.training.checkpoint import list_checkpoints

TINY = ["--size", "32", "--width", "4", "--amp", "off", "-q"]


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    root = tmp_path_factory.mktemp("task")
    assert main(["translate", "make-data", str(root), "--size", "36", "--train", "6", "--test", "3"]) == 0
    return root


def _json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cycle_run(task, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "cycle"
    assert main(["translate", "train", "--model", "cyclegan", "--a", str(task / "trainA"), "--b", str(task / "trainB"), "--out", str(run), "--steps", "3", *TINY]) == 0
    return run


def test_make_data_writes_matching_pairs(task):
    names = sorted(p.name for p in (task / "trainA").iterdir())
    assert names == sorted(p.name for p in (task / "trainB").iterdir()) and len(names) == 6
    assert len(list((task / "testA").iterdir())) == 3
    assert Image.open(task / "trainB" / names[0]).size == (36, 36)


def test_cyclegan_train_apply_export(cycle_run, task, tmp_path, capsys):
    assert [s for s, _ in list_checkpoints(cycle_run)] == [3]
    assert (cycle_run / "samples" / "step-00000003.png").is_file() and (cycle_run / "metrics.jsonl").is_file()
    # a folder, both directions
    for d in ("a2b", "b2a"):
        out = tmp_path / d
        assert main(["translate", "apply", str(cycle_run), str(task / "testA"), "-o", str(out), "--direction", d, "--json"]) == 0
        assert len(_json(capsys)["written"]) == 3
        assert Image.open(next(out.iterdir())).size == (36, 36)
    # one file of an odd size, resized on the way
    src = task / "testA" / "00000.png"
    assert main(["translate", "apply", str(cycle_run), str(src), "-o", str(tmp_path / "one.png"), "--size", "50"]) == 0
    assert Image.open(tmp_path / "one.png").size == (50, 50)
    # ONNX: onnxruntime matches PyTorch, also at another size
    onnx_path = tmp_path / "g.onnx"
    assert main(["translate", "export", str(cycle_run), "-o", str(onnx_path), "--json"]) == 0
    result = _json(capsys)
    assert result["max_abs_diff"] < 1e-4 and result["multiple"] == 4
    import onnxruntime as ort

    from brushwork.translate.apply import load_translator

    x = torch.rand(1, 3, 40, 48)
    (got,) = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, {"images": x.numpy()})
    np.testing.assert_allclose(got, load_translator(cycle_run)(x).numpy(), atol=1e-4)


def test_resume_continues_to_more_steps(cycle_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(cycle_run, run)
    assert main(["translate", "train", "--out", str(run), "--resume", "--steps", "5", "--json", "-q"]) == 0
    assert _json(capsys)["step"] == 5 and list_checkpoints(run)[-1][0] == 5


def test_pix2pix_from_matching_folders(task, tmp_path, capsys):
    run = tmp_path / "p2p"
    assert main(["translate", "train", "--model", "pix2pix", "--a", str(task / "trainA"), "--b", str(task / "trainB"), "--out", str(run), "--steps", "2", "--json", *TINY]) == 0
    assert _json(capsys)["model"] == "pix2pix"
    assert main(["translate", "apply", str(run), str(task / "testA" / "00001.png"), "-o", str(tmp_path / "o.png"), "--model", "pix2pix"]) == 0
    assert Image.open(tmp_path / "o.png").size == (36, 36)


def _fails(capsys, argv, pattern):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert pattern in err, err


def test_bad_input_exits_2_with_one_line(cycle_run, task, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    a, b = str(task / "trainA"), str(task / "trainB")
    _fails(capsys, ["translate", "train", "--a", str(empty), "--b", b, "--out", str(tmp_path / "r1"), *TINY], "contains no images")
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "x.png").write_bytes(b"garbage")
    _fails(capsys, ["translate", "train", "--a", a, "--b", str(unreadable), "--out", str(tmp_path / "r2"), *TINY, "-q"], "could be read")
    other = tmp_path / "other"
    other.mkdir()
    Image.fromarray(np.zeros((36, 36, 3), np.uint8)).save(other / "zzz.png")
    _fails(capsys, ["translate", "train", "--model", "pix2pix", "--a", a, "--b", str(other), "--out", str(tmp_path / "r3"), *TINY], "no file names in common")
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r3").exists()  # no run folder for bad data
    src = str(task / "testA")
    _fails(capsys, ["translate", "apply", str(cycle_run), src, "-o", str(tmp_path / "x"), "--model", "pix2pix"], "is a cyclegan run, not a pix2pix run")
    _fails(capsys, ["translate", "apply", str(cycle_run), src, "-o", str(tmp_path / "x"), "--direction", "sideways"], "sideways")
    _fails(capsys, ["translate", "apply", str(tmp_path), src, "-o", str(tmp_path / "x")], "not a Brushwork run")
    _fails(capsys, ["translate", "train", "--out", str(cycle_run), "--resume", "--model", "pix2pix"], "is a cyclegan run")
    before = {p.name: p.read_bytes() for p in (cycle_run / "checkpoints").iterdir()}
    _fails(capsys, ["translate", "train", "--a", a, "--b", b, "--out", str(cycle_run), *TINY], "already exists")
    assert {p.name: p.read_bytes() for p in (cycle_run / "checkpoints").iterdir()} == before
    assert not (tmp_path / "x").exists()


def test_pix2pix_run_has_no_b2a(task, tmp_path, capsys):
    run = tmp_path / "p"
    assert main(["translate", "train", "--model", "pix2pix", "--a", str(task / "trainA"), "--b", str(task / "trainB"), "--out", str(run), "--steps", "1", *TINY]) == 0
    _fails(capsys, ["translate", "apply", str(run), str(task / "testA"), "-o", str(tmp_path / "y"), "--direction", "b2a"], "translates a2b, not 'b2a'")
    _fails(capsys, ["translate", "export", str(run), "-o", str(tmp_path / "y.onnx"), "--direction", "b2a"], "translates a2b")
    assert not (tmp_path / "y").exists() and not (tmp_path / "y.onnx").exists()


def test_bench_json_shape(capsys):
    argv = ["bench", "translate", "--size", "32", "--steps", "2", "--width", "4", "--train", "4", "--test", "2", "--ref-steps", "1", "--json"]
    assert main(argv) == 0
    r = _json(capsys)
    assert set(r["identity"]) == {"psnr", "l1"}
    for m in ("pix2pix", "cyclegan"):
        assert {"psnr", "l1", "steps_per_second", "reference_steps_per_second"} <= set(r[m]) and r[m]["steps_per_second"] > 0
    assert set(r["reference_steps_per_second"]) == {"pix2pix", "cyclegan"}
    assert r["recipe"] == {"input_skip": True, "d_layers": 1, "lambda_identity": 0.5}
    assert main([*argv[:-1], "--no-input-skip", "--d-layers", "3", "--identity-weight", "0", "--json"]) == 0
    assert _json(capsys)["recipe"] == {"input_skip": False, "d_layers": 3, "lambda_identity": 0.0}
