"""The linear style transform of ``--method gram`` (Li et al., 2019): shapes, learning, variety,
training resume, CLI, ONNX parity and refusals, on tiny images and tiny networks."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.cli import main
from brushwork.errors import BrushworkError
from brushwork.style import linear as L
from brushwork.style.pretrained import packaged_models, save_pretrained

TINY = L.LinearConfig(matrix_size=8, decoder_width=0.1)


def _png(path: Path, h: int, w: int, seed: int, flat: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    if flat:
        arr = np.full((h, w, 3), (200, 80, 30), dtype=np.uint8)
    else:
        yy, xx = np.mgrid[0:h, 0:w]
        arr = np.stack([(xx * (3 + seed)) % 256, (yy * 5) % 256, ((xx + yy) * 2) % 256], -1).astype(np.uint8)
        arr = np.clip(arr + rng.integers(0, 40, arr.shape), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A randomly initialised gram model folder (small transform, light decoder)."""
    torch.manual_seed(0)
    return save_pretrained(L.LinearStyleNet(TINY), tmp_path_factory.mktemp("gram") / "tiny", backbone="vgg16-hed", training={"note": "test"})


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("img")
    (d / "photos").mkdir()
    (d / "paintings").mkdir()
    return {
        "content": _png(d / "photos" / "a.png", 48, 64, 1),
        "content2": _png(d / "photos" / "b.png", 56, 40, 2),
        "style": _png(d / "paintings" / "s.png", 64, 48, 3),
        "style2": _png(d / "paintings" / "t.png", 40, 40, 4),
        "small": _png(d / "small.png", 16, 16, 5),
        "flat": _png(d / "flat.png", 48, 48, 6, flat=True),
        "photos": d / "photos",
        "paintings": d / "paintings",
    }


def test_transform_shapes_and_gradient_flow():
    for layer, c in L.LAYER_CHANNELS.items():
        t = L.LinearTransform(layer, m=8)
        fc, fs = torch.rand(2, c, 6, 5), torch.rand(2, c, 4, 7)
        s_matrix, s_mean = t.style_code(fs)
        assert s_matrix.shape == (2, 8, 8) and s_mean.shape == (2, c, 1, 1)
        out = t(fc, s_matrix, s_mean)
        assert out.shape == fc.shape
        out.pow(2).mean().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in t.parameters())


def test_output_covariance_approaches_the_style_after_training_steps():
    from brushwork.style.linear_train import GramObjective, batch_gram

    torch.manual_seed(0)
    net = L.LinearStyleNet(TINY)
    # content and style in one 8-dimensional subspace (VGG features are dominated by a few
    # directions), with different covariances in it; the projection starts on that subspace
    basis, mix = torch.randn(512, 8), torch.randn(8, 8) * 3
    fc = torch.einsum("dc,nchw->ndhw", basis, torch.randn(2, 8, 8, 8)) + 1.0
    fs = torch.einsum("dc,nchw->ndhw", basis @ mix, torch.randn(2, 8, 8, 8)) + 2.0
    L.init_projection(net.transform, [*fc, *fs])
    objective = GramObjective(vgg=None, objective="features")  # type: ignore[arg-type]
    opt = torch.optim.Adam(net.transform.parameters(), lr=1e-3)

    def cov_error() -> float:
        with torch.no_grad():
            t = net.transform(fc, *net.transform.style_code(fs))
            ct, cs = (batch_gram(v - v.mean(dim=(2, 3), keepdim=True)) for v in (t, fs))
            return float((ct - cs).norm() / cs.norm())

    before, losses = cov_error(), []
    for _ in range(25):
        parts = objective(net, fc, fs, None, contextlib.nullcontext)
        loss = parts["style"]  # the content term pulls the other way; here only the style is matched
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.2 * losses[0]
    assert cov_error() < 0.5 * before


def test_variety_zero_is_deterministic_and_seeds_differ(tiny_model, images):
    from brushwork.imageio import load_image
    from brushwork.style.linear_run import GramOptions, GramStylizer

    g = GramStylizer(tiny_model, precision="float32")
    x, s = load_image(images["content"]).rgb, load_image(images["style"]).rgb
    base = g(x, [s], GramOptions())
    assert base.shape == x.shape and torch.isfinite(base).all()
    assert torch.equal(base, g(x, [s], GramOptions(variety=0.0, seed=5)))
    a, a2, b = (g(x, [s], GramOptions(variety=0.7, seed=k)) for k in (1, 1, 2))
    assert torch.equal(a, a2)
    assert (a - b).abs().max() > 1e-4 and (a - base).abs().max() > 1e-4
    q = L.perturbation(8, 1.0, 3)
    assert torch.allclose(q.T @ q, torch.eye(8), atol=1e-5)  # v = 1: a pure rotation
    with pytest.raises(BrushworkError, match="variety"):
        GramOptions(variety=1.5).validate()


def test_refusals_small_and_flat_styles(tiny_model, images):
    from brushwork.imageio import load_image
    from brushwork.style.linear_run import GramStylizer

    g = GramStylizer(tiny_model, precision="float32")
    x = load_image(images["content"]).rgb
    with pytest.raises(BrushworkError, match="at least 32 px"):
        g(x, [load_image(images["small"]).rgb])
    with pytest.raises(BrushworkError, match="at least one style"):
        g(x, [])
    out = g(x, [load_image(images["flat"]).rgb])  # zero covariance: must not divide by it
    assert torch.isfinite(out).all() and out.shape == x.shape


@pytest.mark.slow
def test_cli_end_to_end(tiny_model, images, tmp_path, capsys):
    base = ["stylize", str(images["content"]), str(images["style"]), "--method", "gram", "--model", str(tiny_model), "--size", "64", "--quiet"]
    assert main([*base, "-o", str(tmp_path / "a.png")]) == 0
    assert Image.open(tmp_path / "a.png").size == (64, 48)
    two = ["stylize", str(images["content"]), str(images["style"]), str(images["style2"]), "--method", "gram", "--model", str(tiny_model), "--size", "48"]
    assert main([*two, "--style-weights", "0.7,0.3", "--alpha", "0.5", "--preserve-color", "luminance", "--variety", "0.5", "--seed", "3",
                 "-o", str(tmp_path / "b.png"), "--quiet"]) == 0
    assert main(["stylize", str(images["photos"]), str(images["style"]), "--method", "gram", "--model", str(tiny_model), "--size", "40",
                 "-o", str(tmp_path / "out"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(Path(o["output"]).name for o in report["outputs"]) == ["a.png", "b.png"]
    assert main([*base, "-o", str(tmp_path / "c.png"), "--variety", "2"]) == 2
    assert main([*base[:2], "--method", "gram", "--model", str(tiny_model), "-o", str(tmp_path / "d.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "variety" in err[0] and "Traceback" not in "".join(err)
    assert not (tmp_path / "c.png").exists() and not (tmp_path / "d.png").exists()


@pytest.mark.slow
def test_onnx_parity(tiny_model, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from brushwork.style.linear_run import GramStylizer, _GramGraph, export_onnx
    from brushwork.style.pretrained import from_pretrained

    g = GramStylizer(tiny_model, precision="float32")
    result = export_onnx(g, tmp_path / "g.onnx", size=32)
    assert result["max_abs_diff"] < 1e-3
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(1)
    c, s, a = torch.rand(1, 3, 40, 56, generator=gen), torch.rand(1, 3, 48, 32, generator=gen), torch.tensor([1.0])
    (got,) = session.run(None, {"content": c.numpy(), "style": s.numpy(), "alpha": a.numpy()})
    with torch.no_grad():
        want = _GramGraph(g.encoder.to(memory_format=torch.contiguous_format), from_pretrained(tiny_model, kind="gram")).eval()(c, s, a)
    assert got.shape == (1, 3, 40, 56)
    assert float(np.abs(got - want.numpy()).max()) < 1e-3
    assert main(["style", "export", str(tiny_model), "-o", str(tmp_path / "cli.onnx"), "--json"]) == 0  # the generic export knows gram models
    assert (tmp_path / "cli.onnx").stat().st_size > 0


def _decoder_dir(root: Path) -> Path:
    from brushwork.style.adain import AdaINConfig, Decoder

    torch.manual_seed(1)
    return save_pretrained(Decoder(AdaINConfig(width=0.1)), root / "dec", backbone="vgg16-hed")


@pytest.mark.slow
def test_train_gram_resumes_exactly(images, tmp_path):
    from brushwork.backbones.vgg import load_vgg
    from brushwork.style.linear_train import GramTrainConfig, start, train
    from brushwork.training.checkpoint import latest_checkpoint, load_checkpoint

    vgg = load_vgg("vgg16-hed", progress=False)
    cfg = dict(content=str(images["photos"]), style=str(images["paintings"]), decoder=str(_decoder_dir(tmp_path)), matrix_size=8,
               size=32, batch_size=1, steps=3, ckpt_every=2, sample_every=0, log_every=1, exclude=("b.png",))
    start(GramTrainConfig(**cfg), tmp_path / "whole")
    train(GramTrainConfig(**cfg), tmp_path / "whole", vgg=vgg)
    start(GramTrainConfig(**cfg), tmp_path / "parts")
    train(GramTrainConfig(**cfg), tmp_path / "parts", vgg=vgg, max_steps_this_call=1)
    train(GramTrainConfig(**cfg), tmp_path / "parts", vgg=vgg, resume=True)
    a, _ = load_checkpoint(latest_checkpoint(tmp_path / "whole" / "run"))
    b, _ = load_checkpoint(latest_checkpoint(tmp_path / "parts" / "run"))
    keys = [k for k in a if k.startswith("transform.")]
    assert keys and all(torch.equal(a[k], b[k]) for k in keys)
    record = json.loads((tmp_path / "whole" / "config.json").read_text())
    assert record["kind"] == "gram" and record["provenance"]["training"]["steps"] == 3 and record["provenance"]["training"]["exclude"] == ["b.png"]


@pytest.mark.slow
def test_train_gram_cli_and_refusal(images, tmp_path):
    out = tmp_path / "m"
    args = ["style", "train-gram", "--content", str(images["photos"]), "--styles", str(images["paintings"]), "--decoder", str(_decoder_dir(tmp_path)),
            "--out", str(out), "--size", "32", "--batch", "1", "--steps", "1", "--objective", "features", "--quiet", "--threads", "1"]
    assert main(args) == 0
    assert main(["stylize", str(images["content"]), str(images["style"]), "--method", "gram", "--model", str(out), "--size", "32", "-o", str(tmp_path / "o.png"), "--quiet"]) == 0
    assert main(["style", "train-gram", "--out", str(out), "--resume", "--steps", "2", "--quiet"]) == 0
    assert main([*args[:-4], "--objective", "nope"]) == 2


@pytest.mark.skipif("gram-hed" not in packaged_models(), reason="the packaged gram model is not built yet")
def test_packaged_model_loads_and_runs(images):
    from brushwork.imageio import load_image
    from brushwork.style.linear_run import GramStylizer

    g = GramStylizer()
    assert g.dir.name == "gram-hed" and g.net.config.layer == "relu4_1"
    out = g(load_image(images["content"]).rgb, [load_image(images["style"]).rgb])
    assert out.shape == (3, 48, 64) and torch.isfinite(out).all() and out.std() > 0.01


@pytest.mark.slow
def test_video_api_and_studio(tiny_model, images, tmp_path):
    from conftest import SHARED_DATA

    from brushwork.api import stylize_gram
    from brushwork.web.methods import METHODS

    img = stylize_gram(images["content"], [images["style"]], model=tiny_model, size=32, variety=0.3, seed=1)
    assert img.size == (32, 24)
    assert "gram" in METHODS and "variety" in METHODS["gram"].describe()["options"]
    assert METHODS["gram"].check({"style_weight": 0.5, "variety": 0.3, "seed": 2})["variety"] == 0.3
    with pytest.raises(BrushworkError, match="variety"):
        METHODS["gram"].check({"variety": 1.5})
    clip = SHARED_DATA / "cutBunny.mp4"
    if clip.is_file():
        out = tmp_path / "v.mp4"
        assert main(["stylize-video", str(clip), "-o", str(out), "--method", "gram", "--model", str(tiny_model), "--style", str(images["style"]),
                     "--size", "32", "--max-frames", "2", "--smoothing", "0.3", "--quiet"]) == 0
        assert out.stat().st_size > 0
