"""`brushwork eval ...` end to end on small folders built here, and its bad-input behaviour."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.cli import main
from brushwork.metrics.classifier import ClassifierConfig, SmallClassifier, save_classifier

from conftest import needs_hed



def _folder(path, n, seed, size=32, offset=0.0):
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    for i in range(n):
        base = rng.random((size, size, 3)) * 0.6 + offset
        Image.fromarray((np.clip(base, 0, 1) * 255).astype(np.uint8)).save(path / f"{i:02d}.png")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    a = _folder(root / "a", 3, seed=0)
    (a / "zz_broken.png").write_bytes(b"not an image")
    _folder(root / "b", 3, seed=1, offset=0.4)
    (root / "empty").mkdir()
    return root


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    """A file with every pytorch-fid Inception key and shape (random values)."""
    from inception_states import random_inception_state as _random_state

    path = tmp_path_factory.mktemp("weights") / "inception.pth"
    torch.save(_random_state(), path)
    return path


def _json(capsys) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return json.loads(out[0])


def _error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.strip().splitlines() if line.startswith("brushwork")]
    assert len(lines) == 1, lines
    return lines[0]


@needs_hed
def test_fid_stats_and_stats_files_in_place_of_folders(data, capsys):
    a, b, stats = str(data / "a"), str(data / "b"), str(data / "a.npz")
    common = ["--features", "vgg16-hed", "--batch-size", "4", "--json", "--allow-singular"]
    assert main(["eval", "fid", a, b, *common]) == 0
    r = _json(capsys)
    assert set(r) >= {"fid", "features", "n_a", "n_b"}
    assert (r["features"], r["n_a"], r["n_b"], r["skipped"], r["singular"]) == ("vgg16-hed", 3, 3, 1, True)
    assert r["fid"] > 0

    assert main(["eval", "stats", a, "-o", stats, "--features", "vgg16-hed", "--json"]) == 0
    s = _json(capsys)
    assert (s["n"], s["dim"], s["features"]) == (3, 1280, "vgg16-hed")
    with np.load(stats) as f:
        assert f["mu"].shape == (1280,) and f["sigma"].shape == (1280, 1280)

    assert main(["eval", "fid", stats, b, *common]) == 0
    assert _json(capsys)["fid"] == pytest.approx(r["fid"], rel=1e-9)
    assert main(["eval", "fid", stats, stats, *common]) == 0
    assert _json(capsys)["fid"] == pytest.approx(0.0, abs=1e-6)

    # without --allow-singular, 3 images in a 1280-d space are refused with what FID would mean
    assert main(["eval", "fid", stats, b, "--features", "vgg16-hed"]) == 2
    line = _error_line(capsys)
    assert "3 samples" in line and "1280-d" in line and "degenerate" in line and "--allow-singular" in line


@needs_hed
def test_kid_and_prdc(data, capsys):
    a, b = str(data / "a"), str(data / "b")
    assert main(["eval", "kid", a, b, "--features", "vgg16-hed", "--batch-size", "4", "--subsets", "5", "--json"]) == 0
    k = _json(capsys)
    assert (k["features"], k["n_a"], k["n_b"], k["subset_size"]) == ("vgg16-hed", 3, 3, 3)
    assert k["kid_mean"] > 0
    assert main(["eval", "prdc", a, a, "--features", "vgg16-hed", "--k", "2", "--k-dc", "2", "--json"]) == 0
    p = _json(capsys)
    assert (p["precision"], p["recall"], p["coverage"], p["features"]) == (1.0, 1.0, 1.0, "vgg16-hed")


@needs_hed
def test_style_reports_distances_and_why_artfid_is_absent(data, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("BRUSHWORK_CACHE", str(tmp_path))  # no Inception weights here
    out = _folder(tmp_path / "out", 2, seed=2)
    content = _folder(tmp_path / "content", 2, seed=3)
    style = str(data / "b" / "00.png")
    assert main(["eval", "style", str(out), str(content), style, "--size", "48", "--json"]) == 0
    r = _json(capsys)
    assert r["n"] == 2 and r["features"] == "vgg16-hed"
    assert r["content_distance"] > 0 and r["gram_distance"] > 0 and r["sliced_wasserstein"] > 0
    assert r["artfid"] is None and "inception-fid" in r["note"] and "LPIPS" in r["note"]
    assert main(["eval", "style", str(content), str(content), str(content), "--size", "48", "--json"]) == 0
    same = _json(capsys)
    assert same["content_distance"] == pytest.approx(0.0, abs=1e-9) and same["gram_distance"] == pytest.approx(0.0, abs=1e-9)


def test_inception_score_with_given_inception_weights(data, capsys, inception_weights):
    assert main(["eval", "is", str(data / "a"), "--weights", str(inception_weights), "--max-images", "2",
                 "--batch-size", "2", "--splits", "1", "--json"]) == 0
    r = _json(capsys)
    assert (r["features"], r["n"], r["splits"]) == ("inception", 2, 1)
    assert 1.0 <= r["is_mean"] <= 1008.0


@needs_hed
def test_style_with_inception_weights_reports_artfid(data, capsys, tmp_path, inception_weights):
    out = _folder(tmp_path / "out", 2, seed=4)
    content = _folder(tmp_path / "content", 2, seed=5)
    styles = _folder(tmp_path / "styles", 2, seed=6, offset=0.3)
    assert main(["eval", "style", str(out), str(content), str(styles), "--size", "48", "--batch-size", "2",
                 "--inception-weights", str(inception_weights), "--json"]) == 0
    r = _json(capsys)
    assert r["fid"] is not None and r["fid"] > 0
    assert r["artfid"] == pytest.approx((1 + r["content_distance"]) * (1 + r["fid"]), rel=1e-12)
    assert "in place of LPIPS" in r["note"] and "biased upward" in r["note"]


def test_inception_score_with_a_user_classifier(data, capsys, tmp_path):
    torch.manual_seed(0)
    path = save_classifier(SmallClassifier(ClassifierConfig(num_classes=4, channels=[8, 8], image_size=16)), tmp_path / "digits")
    assert main(["eval", "is", str(data / "b"), "--features", f"classifier:{path}", "--splits", "1", "--json"]) == 0
    r = _json(capsys)
    assert (r["features"], r["n"], r["splits"]) == ("classifier:digits.safetensors", 3, 1)
    assert 1.0 <= r["is_mean"] <= 4.0
    assert main(["eval", "is", str(data / "b"), "--features", f"classifier:{path}", "--splits", "1"]) == 0
    assert capsys.readouterr().out.startswith("IS ")

    # a zip of the same images is the same source
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as zf:
        for p in sorted((data / "b").iterdir()):
            zf.write(p, f"inner/{p.name}")
    assert main(["eval", "fid", str(data / "b"), str(tmp_path / "b.zip"), "--features", f"classifier:{path}",
                 "--allow-singular", "--json"]) == 0
    r = _json(capsys)
    assert (r["n_a"], r["n_b"]) == (3, 3) and r["fid"] == pytest.approx(0.0, abs=1e-9)


def test_bad_inputs_exit_2_with_one_line(data, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("BRUSHWORK_CACHE", str(tmp_path))
    assert main(["eval", "fid", str(data / "empty"), str(data / "b"), "--features", "classifier:x"]) == 2
    assert "not found" in _error_line(capsys)
    assert main(["eval", "fid", str(data / "empty"), str(data / "b")]) == 2
    assert "inception-fid" in (line := _error_line(capsys)) and "--weights PATH" in line

    rng = np.random.default_rng(0)
    from brushwork.metrics.fid import gaussian_stats

    gaussian_stats(rng.standard_normal((10, 3)), "x").save(tmp_path / "s3.npz")
    gaussian_stats(rng.standard_normal((10, 4)), "x").save(tmp_path / "s4.npz")
    assert main(["eval", "fid", str(tmp_path / "s3.npz"), str(tmp_path / "s4.npz")]) == 2
    assert "different dimensions" in _error_line(capsys)
    assert main(["eval", "kid", str(tmp_path / "s3.npz"), str(tmp_path / "s3.npz")]) == 2
    assert "needs images" in _error_line(capsys)
    assert main(["eval", "fid", str(tmp_path / "nope.npz"), str(tmp_path / "s3.npz")]) == 2
    assert "no such statistics file" in _error_line(capsys)
    assert main(["eval", "is", str(tmp_path / "s3.npz"), "--features", "vgg16-hed"]) == 2
    assert "no class logits" in _error_line(capsys)


@needs_hed
def test_empty_folder_is_a_user_error(data, capsys):
    assert main(["eval", "kid", str(data / "empty"), str(data / "b"), "--features", "vgg16-hed"]) == 2
    assert "contains no images" in _error_line(capsys)


def test_a_gan_run_folder_is_a_source(data, capsys, tmp_path):
    tiny = ["--set", "model.g_width=4", "--set", "model.d_width=4", "--set", "model.z_dim=8", "--set", "data.img_size=8",
            "--set", "train.ema_decay=0.9", "--batch-size", "8", "--threads", "1", "--quiet"]
    assert main(["gan", "train", "--preset", "dcgan-digits", *tiny, "--steps", "2", "--out", str(tmp_path / "runs"),
                 "--name", "r"]) == 0
    capsys.readouterr()
    run = str(tmp_path / "runs" / "r")
    torch.manual_seed(0)
    path = save_classifier(SmallClassifier(ClassifierConfig(num_classes=4, channels=[8, 8], image_size=16)), tmp_path / "c")
    args = ["--features", f"classifier:{path}", "--samples", "10", "--batch-size", "4", "--json"]
    assert main(["eval", "fid", run, str(data / "b"), *args, "--allow-singular"]) == 0
    r = _json(capsys)
    assert (r["n_a"], r["n_b"], r["features"], r["singular"]) == (10, 3, "classifier:c.safetensors", True)
    assert r["fid"] > 0
    # sampling is seeded: the same numbers again, different ones with another seed
    assert main(["eval", "stats", run, "-o", str(tmp_path / "g.npz"), *args]) == 0
    assert _json(capsys)["n"] == 10
    assert main(["eval", "fid", run, str(tmp_path / "g.npz"), *args]) == 0
    assert _json(capsys)["fid"] == pytest.approx(0.0, abs=1e-6)
    assert main(["eval", "stats", run, "-o", str(tmp_path / "g0.npz"), *args]) == 0
    assert main(["eval", "stats", run, "-o", str(tmp_path / "g1.npz"), *args, "--seed", "1"]) == 0
    capsys.readouterr()
    with np.load(tmp_path / "g.npz") as g, np.load(tmp_path / "g0.npz") as g0, np.load(tmp_path / "g1.npz") as g1:
        assert np.array_equal(g["mu"], g0["mu"]) and not np.array_equal(g["mu"], g1["mu"])

