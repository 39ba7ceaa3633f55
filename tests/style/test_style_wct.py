"""Whitening and colouring transforms, multi-level WCT and its options, `--method wct` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from brushwork.cli import main
from brushwork.errors import BrushworkError
from brushwork.style import wct
from brushwork.style.decoders import Decoders, LevelConfig, save_level
from conftest import needs_hed, write_rgb


def _np_cov(f: np.ndarray) -> np.ndarray:
    f = f.reshape(f.shape[0], -1)
    fc = f - f.mean(1, keepdims=True)
    return fc @ fc.T / f.shape[1]


def _features(c=6, h=9, w=11, seed=0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(c, c, generator=g)
    return (mix @ torch.randn(c, h * w, generator=g)).reshape(c, h, w) * 3 + torch.arange(c).view(c, 1, 1).float()


def test_whitening_gives_zero_mean_and_identity_covariance():
    f = _features()
    white = wct.whiten(f, eps=0).double().numpy()
    np.testing.assert_allclose(white.reshape(6, -1).mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(_np_cov(white), np.eye(6), atol=1e-4)


def test_colouring_gives_the_style_covariance_and_mean():
    f, s = _features(seed=1), _features(h=7, w=5, seed=2)
    style = wct.feature_stats(s)
    np.testing.assert_allclose(style.cov.numpy(), _np_cov(s.double().numpy()), rtol=1e-5, atol=1e-5)
    out = wct.color(wct.whiten(f, eps=0), style, eps=0).double().numpy()
    np.testing.assert_allclose(_np_cov(out), _np_cov(s.double().numpy()), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(out.reshape(6, -1).mean(1), s.double().numpy().reshape(6, -1).mean(1), atol=1e-4)
    one = wct.transform(f, [style], alpha=1.0, eps=0).double().numpy()  # the single-matrix form agrees
    np.testing.assert_allclose(one, out, rtol=1e-3, atol=1e-3)


def test_alpha_blends_with_the_content_features():
    f, s = _features(seed=1), wct.feature_stats(_features(seed=2))
    full = wct.transform(f, [s], alpha=1.0)
    assert torch.equal(wct.transform(f, [s], alpha=0.0), f)
    torch.testing.assert_close(wct.transform(f, [s], alpha=0.25), 0.25 * full + 0.75 * f)


def test_blended_styles_have_the_mixture_statistics():
    a, b = _features(h=6, w=6, seed=3), _features(h=6, w=6, seed=4)
    mixed = wct.blend([wct.feature_stats(a), wct.feature_stats(b)], [1, 1])
    both = torch.cat([a, b], dim=2)  # equal weights: the statistics of the pooled features
    ref = wct.feature_stats(both)
    torch.testing.assert_close(mixed.mean, ref.mean)
    torch.testing.assert_close(mixed.cov, ref.cov, rtol=1e-5, atol=2e-5)  # float32 sums in two orders
    with pytest.raises(BrushworkError, match="2 style"):
        wct.blend([ref, ref], [1.0])
    with pytest.raises(BrushworkError, match="non-negative"):
        wct.blend([ref, ref], [1.0, -1.0])


def test_a_singular_covariance_does_not_fail():
    flat = torch.ones(6, 8, 8) * 5.0  # a flat-colour style: zero covariance
    out = wct.transform(_features(h=8, w=8), [wct.feature_stats(flat)])
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, flat, atol=1e-3, rtol=1e-4)
    assert torch.isfinite(wct.transform(flat, [wct.feature_stats(_features())])).all()  # flat content too


def test_mask_whitens_each_region_with_its_own_statistics():
    f = _features(h=8, w=8, seed=5)
    s1, s2 = wct.feature_stats(_features(seed=6)), wct.feature_stats(_features(seed=7))
    mask = torch.zeros(1, 8, 8)
    mask[:, :, :4] = 1
    out = wct.transform(f, [s1, s2], mask=mask, eps=0)
    left = out[:, :, :4].double().numpy()
    np.testing.assert_allclose(_np_cov(left), s1.cov.numpy(), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(_np_cov(out[:, :, 4:].double().numpy()), s2.cov.numpy(), rtol=1e-3, atol=1e-3)
    kept = wct.transform(f, [s1], mask=mask)  # one style: the content outside
    torch.testing.assert_close(kept[:, :, 4:], f[:, :, 4:])


def _decoders(tmp_path, levels=("relu1_1", "relu2_1")):
    torch.manual_seed(0)
    for layer in levels:
        from brushwork.style.decoders import LevelDecoder

        save_level(LevelDecoder(LevelConfig(layer=layer, width=0.25)), tmp_path / "dec", backbone="vgg16-hed", half=False)
    return tmp_path / "dec"


@pytest.fixture(scope="module")
def vgg():
    from brushwork.backbones.vgg import load_vgg

    return load_vgg("vgg16-hed")


@needs_hed
def test_alpha_zero_returns_the_decoders_reconstruction(tmp_path, vgg):
    from brushwork.style.decoders import load_decoders

    decs = load_decoders(_decoders(tmp_path))
    x, s = torch.rand(3, 20, 28), torch.rand(3, 24, 24)
    stats = wct.style_stats(vgg, [s], decs.layers)
    with torch.no_grad():
        got = wct.stylize(vgg, decs, x, stats, alpha=0.0)
        y = x
        for layer in ("relu2_1", "relu1_1"):  # deepest first, each decoded image encoded again
            padded = torch.nn.functional.pad(y[None], (16, 16, 16, 16), mode="reflect")  # the border every level adds
            y = decs[layer](vgg(padded, [layer])[layer])[0, :, 16:36, 16:44].clamp(0, 1)
        styled = wct.stylize(vgg, decs, x, stats, alpha=1.0)
    torch.testing.assert_close(got, y, atol=1e-4, rtol=1e-4)
    assert got.shape == (3, 20, 28) and not torch.allclose(styled, got)
    tiled = wct.stylize(vgg, decs, torch.rand(3, 100, 90), stats, tile=64)
    assert tiled.shape == (3, 100, 90) and torch.isfinite(tiled).all()


@needs_hed
def test_refusals(tmp_path, vgg):
    decs_dir = _decoders(tmp_path)
    from brushwork.style.decoders import load_decoders

    with pytest.raises(BrushworkError, match="too small"):
        wct.style_stats(vgg, [torch.rand(3, 1, 40)], ["relu2_1", "relu1_1"])
    with pytest.raises(BrushworkError, match="backbone"):
        load_decoders(decs_dir, backbone="vgg19-imagenet")
    with pytest.raises(BrushworkError, match="relu4_1"):
        load_decoders(decs_dir, layers=["relu4_1"])
    with pytest.raises(BrushworkError, match="vgg19"):
        save_level(Decoders({"relu1_1": LevelConfig(arch="vgg19", layer="relu1_1")})["relu1_1"], decs_dir, backbone="vgg19-imagenet")


def _image(path, h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 5, y * 7, (x + y) * 3], axis=2) + rng.integers(0, 40, (h, w, 3))
    return write_rgb(path, (arr % 256).astype(np.uint8))


@needs_hed
def test_cli_end_to_end_and_refusals(tmp_path, capsys):
    dec = _decoders(tmp_path)
    content = _image(tmp_path / "c.png", 40, 48, 0)
    s1, s2 = _image(tmp_path / "s1.png", 32, 32, 1), _image(tmp_path / "s2.png", 36, 30, 2)
    mask = tmp_path / "m.png"
    write_rgb(mask, np.repeat((np.arange(48) < 24).astype(np.uint8)[None, :, None] * 255, 40, 0).repeat(3, 2))
    out = tmp_path / "o.png"
    base = ["stylize", str(content), str(s1), "-o", str(out), "--method", "wct", "--model", str(dec), "--size", "48", "--quiet"]
    assert main([*base, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "wct" and out.is_file()
    assert main([*base[:3], str(s2), *base[3:], "--style-weights", "0.7,0.3", "--alpha", "0.6", "--preserve-color", "luminance"]) == 0
    assert main([*base[:3], str(s2), *base[3:], "--mask", str(mask)]) == 0
    (tmp_path / "folder").mkdir()
    _image(tmp_path / "folder" / "a.png", 30, 30, 3)
    assert main(["stylize", str(tmp_path / "folder"), str(s1), "-o", str(tmp_path / "outs"), "--method", "wct", "--model", str(dec), "--quiet"]) == 0
    assert (tmp_path / "outs" / "a.png").is_file()
    capsys.readouterr()
    small_mask = tmp_path / "sm.png"
    write_rgb(small_mask, np.zeros((10, 10, 3), np.uint8))
    tiny = _image(tmp_path / "tiny.png", 3, 30, 4)
    for args, match in ((["--mask", str(small_mask)], "mask is 10x10"), ([], "too small")):
        bad = tmp_path / "bad.png"
        style = str(tiny) if match == "too small" else str(s1)
        assert main(["stylize", str(content), style, "-o", str(bad), "--method", "wct", "--model", str(dec), "--quiet", *args]) == 2
        err = capsys.readouterr().err
        assert match in err and "Traceback" not in err and len(err.strip().splitlines()) == 1 and not bad.exists()
    adain = tmp_path / "adain"
    from brushwork.style.adain import AdaINConfig, Decoder
    from brushwork.models import save_pretrained

    save_pretrained(Decoder(AdaINConfig(width=0.125)), adain, backbone="vgg16-hed")
    assert main(["stylize", str(content), str(s1), "-o", str(tmp_path / "bad.png"), "--method", "wct", "--model", str(adain), "--quiet"]) == 2
    assert "not a 'universal'" in capsys.readouterr().err


@needs_hed
def test_stylize_video_with_wct(tmp_path, capsys):
    av = pytest.importorskip("av")
    dec = _decoders(tmp_path)
    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w") as out:
        v = out.add_stream("mpeg4", rate=8)
        v.width, v.height, v.pix_fmt = 32, 32, "yuv420p"
        for i in range(2):
            arr = np.full((32, 32, 3), 40 * i + 60, np.uint8)
            arr[:, :16, 0] = 200
            out.mux(v.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
        out.mux(v.encode(None))
    style = _image(tmp_path / "s.png", 32, 32, 1)
    code = main(["stylize-video", str(clip), "-o", str(tmp_path / "o.mp4"), "--method", "wct", "--model", str(dec), "--style", str(style), "--json", "--quiet"])
    assert code == 0 and json.loads(capsys.readouterr().out)["frames"] == 2
    assert main(["stylize-video", str(clip), "-o", str(tmp_path / "o2.mp4"), "--quiet"]) == 2
    assert "--model is required" in capsys.readouterr().err


@needs_hed
def test_auto_precision_is_float32_even_where_bfloat16_is_native(tmp_path, monkeypatch):
    from brushwork import precision
    from brushwork.style.universal import UniversalStyle

    monkeypatch.setattr(precision, "fast_bf16", lambda device: True)
    folder = _decoders(tmp_path)
    assert UniversalStyle(folder).precision == "float32"
    explicit = UniversalStyle(folder, precision="bfloat16")
    assert explicit.precision == "bfloat16" and next(explicit.decoders.parameters()).dtype == torch.bfloat16
