"""End-to-end stylisation through the CLI and the Python API, at tiny sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import brushwork
from brushwork.cli import main
from brushwork.style.color import rgb_to_yiq
from brushwork.style.optimize import StyleOptions, iteration_schedule, scale_sizes

from conftest import needs_hed

pytestmark = needs_hed

FAST = ["--size", "40", "--min-size", "24", "--initial-iterations", "12", "--iterations", "4", "--quiet"]


@pytest.fixture
def images(tmp_path) -> dict[str, Path]:
    """A photo-like content (smooth shapes) and a stripy, colourful style, built here."""
    y, x = np.mgrid[0:48, 0:64] / 48.0
    content = np.stack([0.5 + 0.4 * np.sin(3 * x), 0.5 + 0.3 * np.cos(2 * y), 0.4 + 0.2 * x * y], axis=2)
    content[14:34, 20:44] = [0.9, 0.85, 0.2]  # a yellow block: structure to keep
    stripes = ((np.mgrid[0:56, 0:56][1] // 4) % 2).astype(float)
    style = np.stack([stripes, 0.2 + 0.0 * stripes, 1 - stripes], axis=2)
    paths = {"content": tmp_path / "content.png", "style": tmp_path / "style.png"}
    Image.fromarray((content * 255).astype(np.uint8)).save(paths["content"])
    Image.fromarray((style * 255).astype(np.uint8)).save(paths["style"])
    return paths


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_output_and_json(images, tmp_path, capsys):
    out = tmp_path / "out.png"
    code, stdout, err = _run(["stylize", images["content"], images["style"], "-o", out, *FAST, "--json"], capsys)
    assert code == 0, err
    report = json.loads(stdout)
    assert set(report) == {"output", "size", "method", "backbone", "seconds", "iterations", "losses"}
    assert report["size"] == [40, 30] and Image.open(out).size == (40, 30)
    sizes = scale_sizes((48, 64), 40, 24)
    assert sizes == [(21, 28), (30, 40)]
    assert report["iterations"] == sum(iteration_schedule(sizes, StyleOptions(initial_iterations=12, iterations=4)))
    assert set(report["losses"]) == {"content", "style", "tv", "color"} and report["backbone"] == "vgg16-hed"


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_output_moves_towards_the_style(images, precision):
    from brushwork.api import stylize_images
    from brushwork.backbones.vgg import load_vgg
    from brushwork.imageio import load_image, resize
    from brushwork.style.losses import ContentLoss, GramStyleLoss

    options = StyleOptions(size=48, min_size=32, initial_iterations=150, iterations=60, tv_weight=0.0, precision=precision)
    result = stylize_images(images["content"], [images["style"]], options).result.image
    model = load_vgg("vgg16-hed")
    content = resize(load_image(images["content"]).rgb, tuple(result.shape[-2:]))
    style = load_image(images["style"]).rgb
    layers = ["relu1_1", "relu2_1", "relu3_1"]
    with torch.no_grad():
        s_feats = model(style[None], layers)
        c_feats, r_feats = model(content[None], layers + ["relu4_1"]), model(result[None], layers + ["relu4_1"])
    style_before = sum(float(GramStyleLoss([s_feats[k]], [1.0])(c_feats[k])) for k in layers)
    style_after = sum(float(GramStyleLoss([s_feats[k]], [1.0])(r_feats[k])) for k in layers)
    assert style_after < 0.7 * style_before
    content_loss = ContentLoss(c_feats["relu4_1"])
    with torch.no_grad():
        style_as_output = model(resize(style, tuple(result.shape[-2:]))[None], ["relu4_1"])["relu4_1"]
    # bounded: the result keeps far more of the content than the style image itself has
    assert float(content_loss(r_feats["relu4_1"])) < 0.7 * float(content_loss(style_as_output))
    assert not torch.equal(result, content)


def test_api_accepts_paths_pil_and_tensors(images):
    content = Image.open(images["content"])
    style = torch.from_numpy(np.asarray(Image.open(images["style"]), dtype=np.float32) / 255).permute(2, 0, 1)
    out = brushwork.stylize(content, style, size=32, min_size=32, initial_iterations=3, iterations=1)
    assert isinstance(out, Image.Image) and out.size == (32, 24) and out.mode == "RGB"
    with pytest.raises(brushwork.BrushworkError, match="unknown option"):
        brushwork.stylize(images["content"], images["style"], sizee=32)


def test_same_seed_same_image(images):
    from brushwork.api import stylize_images

    options = StyleOptions(size=32, min_size=24, initial_iterations=4, iterations=2, init="noise", seed=7)
    a = stylize_images(images["content"], [images["style"]], options).result.image
    b = stylize_images(images["content"], [images["style"]], options).result.image
    c = stylize_images(images["content"], [images["style"]], StyleOptions(**{**options.__dict__, "seed": 8})).result.image
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_folder_in_folder_out_and_save_every(images, tmp_path, capsys):
    folder = tmp_path / "contents"
    folder.mkdir()
    for name in ("a.png", "b.jpg"):
        Image.open(images["content"]).convert("RGB").save(folder / name)
    code, stdout, err = _run(["stylize", folder, images["style"], "-o", tmp_path / "outs", *FAST, "--json", "--save-every", "5"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "outs").glob("?.png")) == ["a.png", "b.png"]
    assert (tmp_path / "outs" / "a_step00005.png").exists() and (tmp_path / "outs" / "a_step00010.png").exists()
    assert len(json.loads(stdout)["outputs"]) == 2


def test_mask_two_styles_blend_and_colour_options(images, tmp_path, capsys):
    mask = np.zeros((48, 64), np.uint8)
    mask[:, :32] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    code, _, err = _run(["stylize", images["content"], images["style"], images["content"], "-o", tmp_path / "m.png",
                         "--mask", tmp_path / "mask.png", *FAST], capsys)
    assert code == 0, err
    code, _, err = _run(["stylize", images["content"], images["style"], images["content"], "-o", tmp_path / "b.png",
                         "--style-weights", "0.7,0.3", "--style-loss", "gram", "--optimizer", "lbfgs", *FAST], capsys)
    assert code == 0, err
    code, _, err = _run(["stylize", images["content"], images["style"], "-o", tmp_path / "l.png",
                         "--preserve-color", "luminance", *FAST], capsys)
    assert code == 0, err
    out = torch.from_numpy(np.asarray(Image.open(tmp_path / "l.png"), dtype=np.float32) / 255).permute(2, 0, 1)
    content = torch.from_numpy(np.asarray(Image.open(images["content"]).resize((40, 30), Image.BICUBIC), dtype=np.float32) / 255).permute(2, 0, 1)
    assert (rgb_to_yiq(out)[1:] - rgb_to_yiq(content)[1:]).abs().mean() < 0.03  # content's colours kept
    code, _, err = _run(["stylize", images["content"], images["style"], "-o", tmp_path / "h.tif", "--bit-depth", "16",
                         "--preserve-color", "histogram", "--init", "noise", *FAST], capsys)
    assert code == 0, err
    from brushwork.imageio import load_image

    assert load_image(tmp_path / "h.tif").bit_depth == 16


def test_alpha_is_reattached(images, tmp_path, capsys):
    rgba = Image.open(images["content"]).convert("RGBA")
    a = np.asarray(rgba).copy()
    a[:, :16, 3] = 0
    Image.fromarray(a, "RGBA").save(tmp_path / "rgba.png")
    code, _, err = _run(["stylize", tmp_path / "rgba.png", images["style"], "-o", tmp_path / "o.png", *FAST], capsys)
    assert code == 0, err
    out = np.asarray(Image.open(tmp_path / "o.png"))
    assert out.shape[2] == 4 and out[:, :8, 3].max() == 0 and out[:, -8:, 3].min() == 255


def _bad_inputs(tmp_path: Path, images) -> list[tuple[str, list]]:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    data = images["content"].read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 3])
    Image.new("L", (10, 10)).save(tmp_path / "smallmask.png")
    c, s = images["content"], images["style"]
    return [
        ("missing", [tmp_path / "nope.jpg", s]),
        ("empty", [c, tmp_path / "empty.jpg"]),
        ("not an image", [tmp_path / "text.png", s]),
        ("truncated", [tmp_path / "trunc.png", s]),
        ("pixel limit", [c, s, "--max-pixels", "100"]),
        ("mask size", [c, s, "--mask", tmp_path / "smallmask.png"]),
        ("unknown option", [c, s, "--colour", "x"]),
        ("size range", [c, s, "--size", "0"]),
        ("bad choice", [c, s, "--style-loss", "magic"]),
        ("blend count", [c, s, "--style-weights", "0.5,0.5"]),
        ("blend text", [c, s, "--style-weights", "a,b"]),
        ("output format", [c, s, "-o", tmp_path / "out.gifx"]),
    ]


def test_bad_input_is_one_line_exit_2_and_no_output(images, tmp_path, capsys):
    for label, args in _bad_inputs(tmp_path, images):
        out = tmp_path / "out.png"
        if "-o" not in args:
            args = [*args, "-o", out]
        code, stdout, err = _run(["stylize", "--size", "32", "--initial-iterations", "2", "--iterations", "1", "--quiet", *args], capsys)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2, (label, err)
        assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in err, (label, err)
        assert not out.exists(), label
    assert not list(tmp_path.glob(".out*"))  # no temporary leftovers


def test_demo_writes_gallery(tmp_path, capsys):
    code, stdout, err = _run(["demo", "-o", tmp_path / "demo", "--size", "40", "--contents", "chelsea", "--styles", "night",
                              "--iterations", "2", "--quiet", "--json"], capsys)
    assert code == 0, err
    report = json.loads(stdout)
    page = (tmp_path / "demo" / "index.html").read_text()
    assert "result_chelsea_night.png" in page and Path(report["results"][0]).exists()
    assert Image.open(tmp_path / "demo" / "result_chelsea_night.png").size[0] == 40


def test_bench_stylize_json(capsys):
    code, stdout, err = _run(["bench", "stylize", "--size", "64", "--reference-iterations", "3", "--json"], capsys)
    assert code == 0, err
    report = json.loads(stdout)
    assert set(report["default"]) >= {"seconds", "iterations", "loss"} and set(report["reference"]) >= {"seconds", "iterations", "loss"}
    assert report["reference"]["iterations"] == 3 and report["speedup"] > 0 and report["conv_gflops"] > 0
    for run in ("default", "reference"):
        assert report[run]["color_distance"] >= 0
    # the default is traced every 10 iterations, so it has points; a 3-iteration reference has none
    assert report["reference"]["time_to_reference"] is None


def test_quality_trace_reports_first_time_under_target():
    import torch

    from brushwork.bench.stylize import TRACE_EVERY, QualityTrace

    style = torch.zeros(3, 8, 8)
    trace = QualityTrace(style)
    for level in (1.0, 0.5, 0.0):  # colour distance falls as the image darkens towards the style
        for _ in range(TRACE_EVERY):
            trace(lambda level=level: torch.full((3, 8, 8), level))
    distances = [d for _, d in trace.points]
    assert len(distances) == 3 and distances[0] > distances[1] > distances[2] == 0.0
    assert trace.time_to(distances[1]) == round(trace.points[1][0], 2)
    assert trace.time_to(-1.0) is None
